package session

import "strings"

// Injection signals raised from the client's environment report (Env).
// The frames' own signals are package liveness's; both fail the attempt
// through its injection check (docs/liveness.md, "Injection").
const (
	// SignalUnattested: the client never reported its environment, as
	// every Glint SDK does: it is not the SDK.
	SignalUnattested = "unattested_client"
	// SignalAutomation: the browser says it is driven by automation.
	SignalAutomation = "automation"
	// SignalPatchedMedia: a page script replaced the browser's camera
	// functions.
	SignalPatchedMedia = "patched_media_api"
	// SignalSyntheticCamera: the track is not a capture device's (a
	// canvas or element capture, a generated track, no device id).
	SignalSyntheticCamera = "synthetic_camera"
	// SignalVirtualCamera: the device is virtual-camera software, or a
	// browser's fake capture device, each able to play any video.
	SignalVirtualCamera = "virtual_camera"
)

// virtualCameras are fragments of the device names virtual-camera
// software gives its devices (lower case), and of browsers' fake capture
// devices. A name is the client's word, so the list catches only the
// attacker who does not rename the device.
var virtualCameras = []string{
	"virtual", "obs-camera", "obs camera", "manycam", "xsplit", "snap camera", "splitcam",
	"camtwist", "e2esoft", "vcam", "fake_device", "fake video", "webcamoid", "v4l2loopback",
}

// clientSignals turns the client's report into injection signals: none
// for a report that raises nothing, SignalUnattested when there is none.
func clientSignals(e *Env) []string {
	if e == nil {
		return []string{SignalUnattested}
	}
	var out []string
	if e.Webdriver {
		out = append(out, SignalAutomation)
	}
	if e.MediaPatched {
		out = append(out, SignalPatchedMedia)
	}
	if e.Track.Source != "camera" || !e.Track.DeviceID {
		out = append(out, SignalSyntheticCamera)
	}
	label := strings.ToLower(e.Track.Label)
	for _, v := range virtualCameras {
		if strings.Contains(label, v) {
			out = append(out, SignalVirtualCamera)
			break
		}
	}
	return out
}
