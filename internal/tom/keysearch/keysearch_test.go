package keysearch

import (
	"bytes"
	"context"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/tomscan/tomscan/internal/keywords"
	"github.com/tomscan/tomscan/internal/tom/cipher"
)

const words = "法轮功\r\n六四\r\n天安门\r\n胡锦涛\r\n学潮\r\n操你妈\r\nFLG\r\n达赖\r\n民运\r\n"

func gbkList(t testing.TB) []byte {
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(words))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func noise(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b9))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// window puts key at offset at inside 8 KiB of noise.
func window(key []byte, at int) Window {
	d := noise(42, 8192)
	copy(d[at:], key)
	return Window{Node: "b.exe!Skype.exe", Offset: 0x1000, Data: d}
}

func TestRecover(t *testing.T) {
	plainGBK := gbkList(t)
	plainUTF8 := []byte(strings.ReplaceAll(words, "\r\n", "\n"))
	aesKey := noise(1, 32)
	desKey := noise(2, 8)
	want := keywords.Digest(keywords.Split(strings.ReplaceAll(words, "\r", "")))
	for _, tc := range []struct {
		name    string
		plain   []byte
		cipher  string
		key     []byte
		hexKey  bool
		encrypt func(p, k []byte) []byte
	}{
		{"xor4 gbk", plainGBK, cipher.XOR, []byte{0x13, 0x57, 0x9b, 0xdf}, false, cipher.XORBytes},
		{"xor17 utf8", plainUTF8, cipher.XOR, noise(3, 17), false, cipher.XORBytes},
		{"xor32 gbk", plainGBK, cipher.XOR, noise(4, 32), false, cipher.XORBytes},
		{"aes gbk", plainGBK, cipher.AES256, aesKey, false, mustAES},
		{"aes utf8", plainUTF8, cipher.AES256, aesKey, false, mustAES},
		{"aes hex key", plainGBK, cipher.AES256, aesKey, true, mustAES},
		{"des gbk", plainGBK, cipher.DES, desKey, false, mustDES},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := tc.encrypt(tc.plain, tc.key)
			placed := tc.key
			if tc.hexKey {
				placed = []byte(hex.EncodeToString(tc.key))
			}
			w := window(placed, 3000)
			found, cut := Search(context.Background(), []Window{w}, []Blob{{Node: "b.exe!keyfile.dat", Data: ct}}, Limits{})
			if cut || len(found) != 1 {
				t.Fatalf("found %d lists, cut %v", len(found), cut)
			}
			f := found[0]
			if f.Cipher != tc.cipher || !bytes.Equal(f.Key, tc.key) || f.KeyOffset != 0x1000+3000 || f.KeyFromHex != tc.hexKey {
				t.Errorf("found %s key %x at %#x (hex %v)", f.Cipher, f.Key, f.KeyOffset, f.KeyFromHex)
			}
			if got := keywords.Digest(f.List.Lines); got != want {
				t.Errorf("digest %s, want %s; lines %q", got, want, f.List.Lines)
			}
		})
	}
}

func mustAES(p, k []byte) []byte {
	b, err := cipher.EncryptAES256ECB(p, k)
	if err != nil {
		panic(err)
	}
	return b
}

func mustDES(p, k []byte) []byte {
	b, err := cipher.EncryptDESECB(p, k)
	if err != nil {
		panic(err)
	}
	return b
}

func TestWrongKeysShortBlobsAndPlain(t *testing.T) {
	plain := gbkList(t)
	key := noise(5, 32)
	ct := mustAES(plain, key)
	// The window holds a different key: nothing may be accepted.
	found, cut := Search(context.Background(), []Window{window(noise(6, 32), 100)}, []Blob{{Data: ct}, {Data: cipher.XORBytes(plain, []byte("abcdefgh"))}}, Limits{})
	if len(found) != 0 || cut {
		t.Fatalf("wrong keys accepted: %+v", found)
	}
	// Short and truncated blobs.
	found, _ = Search(context.Background(), []Window{window(key, 100)}, []Blob{{Data: ct[:15]}, {Data: ct[:len(ct)-16]}, {Data: nil}}, Limits{})
	if len(found) != 0 {
		t.Fatalf("short blobs produced lists: %+v", found)
	}
	// A plaintext list is reported as is, with no key.
	found, _ = Search(context.Background(), nil, []Blob{{Data: plain}}, Limits{})
	if len(found) != 1 || found[0].Cipher != cipher.None || found[0].Key != nil || found[0].List.Encoding != "gbk" {
		t.Fatalf("plain list: %+v", found)
	}
	// Too short to be believed as a plaintext list.
	found, _ = Search(context.Background(), nil, []Blob{{Data: []byte("法轮功\n六四\n天安门\n")}}, Limits{})
	if len(found) != 0 {
		t.Fatalf("3-line plaintext reported: %+v", found)
	}
}

func TestTrialLimit(t *testing.T) {
	plain := gbkList(t)
	key := noise(7, 32)
	w := window(key, 5000)
	found, cut := Search(context.Background(), []Window{w}, []Blob{{Data: mustAES(plain, key)}}, Limits{MaxTrials: 1000})
	if !cut || len(found) != 0 {
		t.Fatalf("limit 1000 with the key at 5000: found %d, cut %v", len(found), cut)
	}
}

func TestSortWindows(t *testing.T) {
	ws := SortWindows([]Window{
		{Node: "b", Offset: 10, Data: []byte("0123456789")},
		{Node: "a", Offset: 0, Data: []byte("xy")},
		{Node: "b", Offset: 0, Data: []byte("ABCDEFGHIJKL")},
		{Node: "b", Offset: 40, Data: []byte("z")},
	})
	if len(ws) != 3 || ws[0].Node != "a" || string(ws[1].Data) != "ABCDEFGHIJKL23456789" || ws[2].Offset != 40 {
		t.Fatalf("SortWindows = %+v", ws)
	}
}

func FuzzSearch(f *testing.F) {
	f.Add([]byte("0123456789abcdef0123456789abcdef0123456789"), []byte("\x01\x02\x03\x04"))
	f.Fuzz(func(t *testing.T, blob, win []byte) {
		if len(win) > 512 || len(blob) > 4096 {
			return
		}
		found, _ := Search(context.Background(), []Window{{Data: win}}, []Blob{{Data: blob}}, Limits{})
		for _, fd := range found {
			if len(fd.List.Lines) < 3 {
				t.Fatalf("accepted %d lines", len(fd.List.Lines))
			}
		}
	})
}

// TestNoFalseKeys: random blobs against a random 4 KiB window, every
// offset and cipher tried, must yield nothing: 4096 offsets × 24 blobs ×
// (AES, DES, 29 XOR lengths) ≈ 3 million wrong keys. (Measured once at
// 8 KiB × 64 blobs, 16 million keys: none accepted either.)
func TestNoFalseKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	var blobs []Blob
	for i := 0; i < 24; i++ {
		n := 16 + 16*int(i*7%100)
		blobs = append(blobs, Blob{Node: "x", Data: noise(uint64(100+i), n)})
	}
	found, cut := Search(context.Background(), []Window{{Node: "w", Data: noise(99, 4096)}}, blobs, Limits{MaxTrials: 1 << 30})
	if cut {
		t.Fatal("search cut short")
	}
	for _, f := range found {
		t.Errorf("false list: %s key %x: %q", f.Cipher, f.Key, f.List.Lines)
	}
}
