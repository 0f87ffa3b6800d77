// Package imaging turns untrusted uploaded bytes into an upright image.Image
// without letting the upload choose how much memory the server spends.
//
// # Header first
//
// Sniff reads only the container header of a JPEG, PNG, GIF, BMP or WebP
// file and reports its format, stored dimensions and, for JPEG, the EXIF
// orientation. It never allocates in proportion to the claimed size, so a
// 60000×60000 header is refused by Decode with ErrTooLarge before any pixel
// buffer exists.
//
// # Decoding
//
// Decode sniffs, enforces the caller's maximum side length, cross-checks the
// header against the standard decoder's own DecodeConfig (so the two parsers
// cannot be played against each other), decodes (the first frame only for
// GIF) and applies the EXIF orientation, returning the image as a person
// would see it. Every failure wraps ErrUnsupported or ErrTooLarge; callers
// map those two to their own error codes.
//
// # Rotation
//
// Rotate turns an image by a multiple of 90 degrees clockwise, for face
// detectors that retry on sideways photos.
package imaging
