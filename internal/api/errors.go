package api

import (
	"net/http"
	"strings"
)

// apiError is a FaceID error: an HTTP status and the exact error_message
// string (spec §0.1). Every failure a client can see is one of these; the
// causes behind INTERNAL_ERROR are logged, never sent.
type apiError struct {
	status  int
	message string
}

func (e *apiError) Error() string { return e.message }

// code is the part of the message before any ":detail", used as the
// metrics label and the ledger outcome.
func (e *apiError) code() string {
	c, _, _ := strings.Cut(e.message, ":")
	return c
}

var (
	errAuthentication = &apiError{http.StatusForbidden, "AUTHENTICATION_ERROR"}
	errConcurrency    = &apiError{http.StatusForbidden, "CONCURRENCY_LIMIT_EXCEEDED"}
	errInternal       = &apiError{http.StatusInternalServerError, "INTERNAL_ERROR"}
)

// Reasons of AUTHORIZATION_ERROR (spec §0.1, §6 #4: uppercase, no space).
const (
	reasonDiscontinued       = "API_KEY_BE_DISCONTINUED"
	reasonIPNotAllowed       = "IP_NOT_ALLOWED"
	reasonLimitReached       = "LIMIT_REACHED"
	reasonNoVerifyPermission = "NO_VERIFY_PERMISSION"
	// reasonDenied: no right to this API (the upload fallback of a key
	// that did not opt in).
	reasonDenied = "DENIED"
)

func errAuthorization(reason string) *apiError {
	return &apiError{http.StatusForbidden, "AUTHORIZATION_ERROR:" + reason}
}

// The detail follows the colon with no space (spec §6 #27).
func errMissing(param string) *apiError {
	return &apiError{http.StatusBadRequest, "MISSING_ARGUMENTS:" + param}
}

func errBad(param string) *apiError {
	return &apiError{http.StatusBadRequest, "BAD_ARGUMENTS:" + param}
}

// Image errors name the offending parameter (spec §2.1).
const (
	codeUnsupportedFormat = "IMAGE_ERROR_UNSUPPORTED_FORMAT"
	codeInvalidImageSize  = "INVALID_IMAGE_SIZE"
	codeNoFaceFound       = "NO_FACE_FOUND"
	codeMultipleFaces     = "MULTIPLE_FACES"
)

func errImage(code, param string) *apiError {
	return &apiError{http.StatusBadRequest, code + ":" + param}
}

// Responses outside the JSON error scheme.
const (
	// tooLargeBody is sent as text/plain with 413 (spec §0: "not JSON").
	tooLargeBody = "Request Entity Too Large"
	tooLargeCode = "REQUEST_ENTITY_TOO_LARGE"
	notFoundCode = "API_NOT_FOUND"
)
