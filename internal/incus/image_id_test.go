package incus

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// offlineInit is what incus init says when the image server cannot be
// reached (incus 6.0, no route out).
const offlineInit = "Error: Failed instance creation: Failed getting remote image info: Failed getting image: Failed parsing stream: Get \"https://images.example/streams/v1/index.json\": dial tcp: lookup images.example: no such host\n"

func TestFakeMissingImageIsNotTransient(t *testing.T) {
	f := newFake(t, []fakeRule{
		{Match: "image list", Stdout: imagesJSON},
		{Match: "init", Stderr: offlineInit, Code: 1},
		{Match: "delete", Stderr: notFound, Code: 1},
	})
	err := f.Create(context.Background(), "orbtest-a", backend.Spec{Distro: "ubuntu", Version: "24.04"})
	require.Error(t, err)
	assert.ErrorIs(t, err, backend.ErrInvalid)
	assert.NotErrorIs(t, err, backend.ErrTransient, "retrying cannot make an image")
	assert.False(t, backend.Retryable(err))
	for _, want := range []string{`image "ubuntu/24.04"`, "local aliases: debian/bookworm", "incus image copy images:ubuntu/24.04 local: --alias ubuntu/24.04", "no such host"} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestFakeImageID(t *testing.T) {
	ctx := context.Background()
	t.Run("local: the alias's fingerprint, aliases normalized", func(t *testing.T) {
		f := newFake(t, []fakeRule{{Match: "image list", Stdout: imagesJSON}})
		a, err := f.ImageID(ctx, backend.Spec{Distro: "debian", Version: "12"})
		require.NoError(t, err)
		b, err := f.ImageID(ctx, backend.Spec{Distro: "debian", Version: "bookworm"})
		require.NoError(t, err)
		assert.Equal(t, backend.Image{ID: "sha256:ff", Ref: "debian/bookworm"}, a)
		assert.Equal(t, a, b)
	})
	t.Run("image server: asked, its fingerprint", func(t *testing.T) {
		f := newFake(t, []fakeRule{{Match: "image list", Stdout: "[]"}, {Match: "image info", Stdout: "Fingerprint: 0123abcd\nSize: 1MiB\n"}})
		img, err := f.ImageID(ctx, backend.Spec{Distro: "ubuntu", Version: "noble"})
		require.NoError(t, err)
		assert.Equal(t, "sha256:0123abcd", img.ID)
		assert.Equal(t, "image info images:ubuntu/24.04", f.calls(t)[1])
	})
	t.Run("image server unreachable: missing, not transient", func(t *testing.T) {
		f := newFake(t, []fakeRule{{Match: "image list", Stdout: imagesJSON}, {Match: "image info", Stderr: "Error: Failed getting image: Failed parsing stream: no such host\n", Code: 1}})
		_, err := f.ImageID(ctx, backend.Spec{Distro: "ubuntu", Version: "24.04"})
		assert.ErrorIs(t, err, backend.ErrInvalid)
		assert.False(t, backend.Retryable(err))
		assert.Contains(t, err.Error(), "local aliases: debian/bookworm")
	})
}

func TestParseImageFingerprint(t *testing.T) {
	assert.Equal(t, "ac10", ParseImageFingerprint([]byte("Fingerprint: ac10\nSize: 79.85MiB\n")))
	assert.Equal(t, "", ParseImageFingerprint([]byte("Size: 1\n")))
}
