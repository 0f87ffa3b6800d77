package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/glint-id/glint/client"
)

// A server asks for a token, sends the person to the capture page, and
// reads the verdict once told the capture ended.
func ExampleClient() {
	ctx := context.Background()
	c := client.New("https://glint.example", os.Getenv("GLINT_API_KEY"), os.Getenv("GLINT_API_SECRET"))

	photo, err := os.Open("portrait.jpg")
	if err != nil {
		log.Fatal(err)
	}
	defer photo.Close()
	tok, err := c.GetToken(ctx, client.GetTokenRequest{
		UUID:           "user-42",
		BizNo:          "order-77",
		MaxUploadTimes: 3,
		LifeTime:       time.Hour,
		ImageRef1:      photo,
	})
	var apiErr *client.Error
	if errors.As(err, &apiErr) && apiErr.Code() == "NO_FACE_FOUND" {
		log.Fatal("ask the user for another photo")
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println("https://glint.example/h5/verify?token=" + tok.Token)

	// … later …
	r, err := c.GetResult(ctx, tok.Token, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("accepted:", r.Passed(client.FAR1e5))
}

// A receiver of notifications checks them before trusting the result, and
// answers 2xx only once it has recorded it (anything else is retried).
func ExampleVerifyNotification() {
	secret := os.Getenv("GLINT_API_SECRET")
	http.HandleFunc("POST /glint/notify", func(w http.ResponseWriter, r *http.Request) {
		res, err := client.VerifyNotification(r, secret, 5*time.Minute)
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		// The same token may arrive twice: record it idempotently.
		log.Printf("verification %s (biz_no %s) ended %s, accepted: %v",
			res.Token, res.BizNo, res.Status, res.Passed(client.FAR1e5))
		w.WriteHeader(http.StatusNoContent)
	})
}

// Sign makes the header Glint sends, for testing a receiver.
func ExampleSign() {
	body := []byte("data=%7B%7D&sign=00&token=tok")
	fmt.Println(client.Sign("secret", time.Unix(1750000000, 0), body))
	// Output: t=1750000000,v1=edd530b21f3949e938c302546a79e66f6c503885f1b3f65a083e86d06392e7dd
}
