// Package client is a small Go client for Glint's FaceID-compatible API,
// for integrators' servers: it asks for tokens, reads results, and
// verifies the signed result notifications Glint can POST when a
// verification ends.
//
// # Calling the API
//
// New takes the service's base URL and a key's api_key and api_secret.
// GetToken sends get_token with the reference photos and returns the
// token to hand to the capture page; GetResult reads a verification's
// result. A refusal is an *Error carrying the HTTP status and FaceID's
// error_message:
//
//	c := client.New("https://glint.example", apiKey, apiSecret)
//	tok, err := c.GetToken(ctx, client.GetTokenRequest{
//		UUID: "user-42", BizNo: "order-77",
//		MaxUploadTimes: 3, LifeTime: time.Hour, ImageRef1: photo,
//	})
//	var apiErr *client.Error
//	if errors.As(err, &apiErr) && apiErr.Code() == "NO_FACE_FOUND" { … }
//
// A finished result can be read three times within its retention; reads
// while the status is NOT_STARTED or PROCESSING are free. Accept the
// person only when Result.Passed holds for the false-accept rate you
// chose.
//
// # Notifications
//
// A key configured with `glint keys notify KEY --url URL` receives, once
// per verification, a POST of the same JSON get_result would return
// (without images) when the verification reaches OK or FAILED. The body
// is a form, data=<JSON>&sign=<hex sha1(api_secret + JSON)> (Megvii's
// legacy signature), and the X-Glint-Signature header carries
// t=<unix seconds>,v1=<hex HMAC-SHA256(api_secret, t + "." + body)>.
// VerifyNotification checks both, and the timestamp against a tolerance
// to refuse replays, and returns the result. Answer 2xx once it is
// stored: anything else is retried for up to a day, so the same token
// may arrive more than once and must be handled idempotently.
//
// The package uses only the standard library.
package client
