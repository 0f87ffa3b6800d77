package session

// Tip codes of the mirror stage (spec §3.4).
const (
	TipNoFace        = "NoFaceFound"
	TipMultipleFaces = "MultipleFaces"
	TipTooFar        = "TooFarAwayFromCamera"
	TipTooClose      = "TooCloseFromCamera"
	TipYaw           = "InvalidFaceYaw"
	TipPitch         = "InvalidFacePitch"
	TipTooDark       = "TooDark"
	TipTooBright     = "TooBright"
	TipBlur          = "FaceBlur"
	TipOutOfImage    = "InvalidFaceOutOfImage"
	TipKeepStill     = "KeepStill"
	TipEyeOcclusion  = "InvalidFaceEyeOcclusion"
	TipMouth         = "InvalidFaceMouth"
)

// texts holds the user-facing text of every tip and result code, by the
// token's language: "0" English, "1" Chinese (get_token's language).
var texts = map[string]map[string]string{
	"0": {
		TipNoFace:        "We can't see your face. Put it inside the circle",
		TipMultipleFaces: "Only one person should be in view",
		TipTooFar:        "Come a little closer",
		TipTooClose:      "Move a little further away",
		TipYaw:           "Turn your face straight to the screen",
		TipPitch:         "Hold your head level, facing the screen",
		TipTooDark:       "It's too dark here. Find more light",
		TipTooBright:     "The light is too strong. Avoid light shining on your face",
		TipBlur:          "The picture is blurred. Hold the device still",
		TipOutOfImage:    "Keep all of your face inside the circle",
		TipKeepStill:     "Hold still",
		TipEyeOcclusion:  "Uncover your eyes",
		TipMouth:         "Uncover your mouth",

		CodeSuccess:         "Done: your verification was sent",
		CodeLivenessFailed:  "We could not confirm a live face",
		CodeMoreRetryTimes:  "There are no attempts left for this verification",
		CodeMirrorTimeout:   "Your face was not found in time",
		CodeTokenInvalid:    "This verification is not valid",
		CodeTokenExpired:    "This verification has expired",
		CodeTokenFinished:   "This verification is already complete",
		CodeInternalError:   "Something went wrong on our side. Please try again later",
		CodeSuperseded:      "This verification continued in another window",
		CodeTooManyAttempts: "Too many attempts from this network. Please try again later",
		CodeNetworkError:    "The service is restarting. Please try again in a moment",
	},
	"1": {
		TipNoFace:        "未检测到人脸，请将脸部放入圆框",
		TipMultipleFaces: "画面中只能有一个人",
		TipTooFar:        "请再靠近一些",
		TipTooClose:      "请再离远一些",
		TipYaw:           "请正面朝向屏幕",
		TipPitch:         "请保持头部水平，正对屏幕",
		TipTooDark:       "光线太暗，请到亮一些的地方",
		TipTooBright:     "光线太强，请避免强光照射面部",
		TipBlur:          "画面模糊，请拿稳设备",
		TipOutOfImage:    "请让整张脸保持在圆框内",
		TipKeepStill:     "请保持不动",
		TipEyeOcclusion:  "请勿遮挡眼睛",
		TipMouth:         "请勿遮挡嘴部",

		CodeSuccess:         "完成：验证已提交",
		CodeLivenessFailed:  "未能确认为真人活体",
		CodeMoreRetryTimes:  "本次验证已没有剩余次数",
		CodeMirrorTimeout:   "未能及时检测到人脸",
		CodeTokenInvalid:    "该验证无效",
		CodeTokenExpired:    "该验证已过期",
		CodeTokenFinished:   "该验证已完成",
		CodeInternalError:   "系统出现问题，请稍后再试",
		CodeSuperseded:      "该验证已在其他窗口继续",
		CodeTooManyAttempts: "此网络的尝试次数过多，请稍后再试",
		CodeNetworkError:    "服务正在重启，请稍后重试",
	},
}

// text returns the text of code in language lang, falling back to
// English for an unknown language and to "" for an unknown code.
func text(lang, code string) string {
	t, ok := texts[lang]
	if !ok {
		t = texts["0"]
	}
	return t[code]
}
