package api

import "context"

// embedOrigins tells the capture page (sdk.HandlerWith) which origins may
// frame it and receive its outcome: those of the token's key. A key that
// lists none (any origin may use its tokens through the SDK), a disabled
// key and an unknown token give none, so the page stays unframeable.
func (h *Handler) embedOrigins(ctx context.Context, token string) []string {
	v, err := h.cfg.Store.Verification(ctx, token)
	if err != nil {
		return nil
	}
	k, err := h.cfg.Store.Key(ctx, v.KeyID)
	if err != nil || k.Disabled {
		return nil
	}
	return k.AllowedOrigins
}
