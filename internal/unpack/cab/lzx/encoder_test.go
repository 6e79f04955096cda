package lzx

import (
	"bytes"
	"math/rand"
	"testing"
)

// This file holds a small LZX compressor, for tests only: fixed complete
// Huffman codes, greedy matching, verbatim or aligned blocks. It lets the
// decoder be checked on data it did not see from a real cabinet: every
// window size, matches into the previous lap of the window, blocks spanning
// frames, and code lengths sent as deltas from the previous block.

// completeLengths gives n symbols lengths of a complete prefix code.
func completeLengths(n int) []uint8 {
	k := 0
	for 1<<k < n {
		k++
	}
	lens := make([]uint8, n)
	short := 1<<k - n // symbols one bit shorter
	for i := range lens {
		if i < short {
			lens[i] = uint8(k - 1)
		} else {
			lens[i] = uint8(k)
		}
	}
	return lens
}

// canonicalCodes assigns codes as the decoder does.
func canonicalCodes(lens []uint8) []uint32 {
	var count [17]int
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [17]uint32
	code := uint32(0)
	for l := 1; l <= 16; l++ {
		code = (code + uint32(count[l-1])) << 1
		next[l] = code
	}
	codes := make([]uint32, len(lens))
	for s, l := range lens {
		if l > 0 {
			codes[s] = next[l]
			next[l]++
		}
	}
	return codes
}

type encTree struct {
	lens  []uint8
	codes []uint32
}

func newEncTree(lens []uint8) encTree { return encTree{lens, canonicalCodes(lens)} }

func (t encTree) put(w *bitWriter, sym int) { w.bits(t.codes[sym], uint(t.lens[sym])) }

// putLengths sends lens as deltas from prev through a fixed pretree.
func putLengths(w *bitWriter, lens, prev []uint8) {
	pre := newEncTree(completeLengths(pretreeSymbols))
	for _, l := range pre.lens {
		w.bits(uint32(l), 4)
	}
	for i, l := range lens {
		pre.put(w, (int(prev[i])-int(l)+17)%17)
	}
}

type token struct {
	lit    byte
	length int // 0: literal
	offset int
}

// tokenize finds greedy matches that never cross a frame boundary.
func tokenize(data []byte, window int) []token {
	var toks []token
	head := map[uint32][]int{}
	for i := 0; i < len(data); {
		best, bestOff := 0, 0
		frameEnd := (i/FrameSize + 1) * FrameSize
		if i+3 <= len(data) {
			key := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16
			cands := head[key]
			for j := len(cands) - 1; j >= 0 && j >= len(cands)-8; j-- {
				p := cands[j]
				off := i - p
				if off >= window-3 {
					break
				}
				n := 0
				for i+n < len(data) && i+n < frameEnd && n < 257 && data[p+n] == data[i+n] {
					n++
				}
				if n > best {
					best, bestOff = n, off
				}
			}
			head[key] = append(cands, i)
		}
		if best >= 3 {
			toks = append(toks, token{length: best, offset: bestOff})
			i += best
		} else {
			toks = append(toks, token{lit: data[i]})
			i++
		}
	}
	return toks
}

func slotOf(formatted uint32) int {
	s := 0
	for s+1 < len(positionBase) && positionBase[s+1] <= formatted {
		s++
	}
	return s
}

// compress encodes data as blocks of at most blockLen output bytes.
func compress(data []byte, windowBits int, aligned bool, blockLen int) []byte {
	var w bitWriter
	w.bits(0, 1) // no E8 translation
	slots := positionSlots[windowBits]
	mainLens := completeLengths(numChars + slots*8)
	lenLens := completeLengths(numSecondaryLen)
	mainT, lenT := newEncTree(mainLens), newEncTree(lenLens)
	alignLens := completeLengths(alignedSymbols)
	alignT := newEncTree(alignLens)
	prevMain := make([]uint8, len(mainLens))
	prevLen := make([]uint8, len(lenLens))
	toks := tokenize(data, 1<<windowBits)

	pos := 0
	ti := 0
	for ti < len(toks) {
		// Take tokens for one block.
		start := ti
		n := 0
		for ti < len(toks) && n < blockLen {
			if toks[ti].length > 0 {
				n += toks[ti].length
			} else {
				n++
			}
			ti++
		}
		if aligned {
			w.bits(blockAligned, 3)
		} else {
			w.bits(blockVerbatim, 3)
		}
		w.bits(uint32(n)>>8, 16)
		w.bits(uint32(n)&0xFF, 8)
		if aligned {
			for _, l := range alignLens {
				w.bits(uint32(l), 3)
			}
		}
		putLengths(&w, mainLens[:numChars], prevMain[:numChars])
		putLengths(&w, mainLens[numChars:], prevMain[numChars:])
		putLengths(&w, lenLens, prevLen)
		copy(prevMain, mainLens)
		copy(prevLen, lenLens)
		for _, t := range toks[start:ti] {
			if t.length == 0 {
				mainT.put(&w, int(t.lit))
				pos++
			} else {
				formatted := uint32(t.offset + 2)
				slot := slotOf(formatted)
				extra := uint(extraBits[slot])
				v := formatted - positionBase[slot]
				ml := t.length - minMatch
				lh := ml
				if lh > numPrimaryLens {
					lh = numPrimaryLens
				}
				mainT.put(&w, numChars+slot<<3|lh)
				if lh == numPrimaryLens {
					lenT.put(&w, ml-numPrimaryLens)
				}
				switch {
				case aligned && extra >= 3:
					if extra > 3 {
						w.bits(v>>3, extra-3)
					}
					alignT.put(&w, int(v&7))
				case extra > 0:
					w.bits(v, extra)
				}
				pos += t.length
			}
			if pos%FrameSize == 0 {
				w.flush() // the decoder re-aligns at every frame end
			}
		}
	}
	w.flush()
	return w.out
}

func TestCompressedBlocks(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	// Text-like data with long-distance repeats, so that matches reach far
	// back and, with small windows, into the previous lap of the window.
	words := []string{"skype", "tom", "keyfile", "agent", "upload", "filter", "\r\n", "5.1.4.10", "falungong", "http://"}
	var b bytes.Buffer
	for b.Len() < 120000 {
		b.WriteString(words[rng.Intn(len(words))])
		if rng.Intn(50) == 0 {
			b.WriteByte(byte(rng.Intn(256)))
		}
	}
	text := b.Bytes()
	noise := make([]byte, 30000)
	rng.Read(noise)
	mixed := append(append(append([]byte(nil), text[:40000]...), noise...), text[:40000]...)

	for _, tc := range []struct {
		name string
		data []byte
	}{{"text", text}, {"mixed", mixed}} {
		for bits := 15; bits <= 21; bits++ {
			for _, aligned := range []bool{false, true} {
				for _, blockLen := range []int{1 << 20, 20000} {
					stream := compress(tc.data, bits, aligned, blockLen)
					got, err := decodeAll(t, stream, bits, len(tc.data))
					if err != nil {
						t.Fatalf("%s bits=%d aligned=%v block=%d: %v", tc.name, bits, aligned, blockLen, err)
					}
					if !bytes.Equal(got, tc.data) {
						i := 0
						for i < len(got) && got[i] == tc.data[i] {
							i++
						}
						t.Fatalf("%s bits=%d aligned=%v block=%d: differs at byte %d", tc.name, bits, aligned, blockLen, i)
					}
				}
			}
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"skype", "tom", "keyfile", "agent", "upload", "\r\n", "MZ\x90\x00", "\x00\x00\x00\x00"}
	var buf bytes.Buffer
	for buf.Len() < 4<<20 {
		buf.WriteString(words[rng.Intn(len(words))])
		buf.WriteByte(byte(rng.Intn(256)))
	}
	data := buf.Bytes()
	stream := compress(data, 21, true, 1<<20)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, err := NewDecoder(bytes.NewReader(stream), 21)
		if err != nil {
			b.Fatal(err)
		}
		for done := 0; done < len(data); done += FrameSize {
			if _, err := d.Frame(min(FrameSize, len(data)-done)); err != nil {
				b.Fatal(err)
			}
		}
	}
}
