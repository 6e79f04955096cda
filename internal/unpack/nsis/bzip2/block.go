package bzip2

import "fmt"

// readBlock decodes one block, from just after its marker (and, in
// Standard mode, its CRC), into z.tt, ready for output.
func (z *Reader) readBlock() error {
	br := z.br
	if z.mode == Standard {
		r, err := br.bits(1)
		if err != nil {
			return z.short("block header")
		}
		z.randomised = r == 1
	} else {
		z.randomised = false // NSIS blocks have no randomised bit
	}
	origPtr, err := br.bits(24)
	if err != nil {
		return z.short("block header")
	}
	if int(origPtr) >= z.blockMax {
		return z.corrupt("origin pointer %d beyond the block size %d", origPtr, z.blockMax)
	}

	// The byte values in use: 16 bits for ranges of 16, then 16 bits per
	// range in use.
	used, err := br.bits(16)
	if err != nil {
		return z.short("symbol map")
	}
	var symbols [256]uint8 // MTF index -> byte value
	nSymbols := 0
	for i := range 16 {
		if used&(0x8000>>i) == 0 {
			continue
		}
		bits, err := br.bits(16)
		if err != nil {
			return z.short("symbol map")
		}
		for j := range 16 {
			if bits&(0x8000>>j) != 0 {
				symbols[nSymbols] = uint8(i*16 + j)
				nSymbols++
			}
		}
	}
	if nSymbols == 0 {
		return z.corrupt("no byte values in use")
	}
	alpha := nSymbols + 2 // RUNA, RUNB, MTF indices 1..nSymbols-1, EOB

	nGroups, err := br.bits(3)
	if err != nil {
		return z.short("huffman groups")
	}
	if nGroups < minGroups || nGroups > maxGroups {
		return z.corrupt("bad huffman group count %d", nGroups)
	}
	nSel, err := br.bits(15)
	if err != nil {
		return z.short("selectors")
	}
	if nSel == 0 {
		return z.corrupt("no selectors")
	}
	// Selectors are move-to-front coded group numbers, each in unary.
	if cap(z.selectors) < maxSelectors {
		z.selectors = make([]uint8, 0, min(int(nSel), maxSelectors))
	}
	sel := z.selectors[:0]
	var mtf = [maxGroups]uint8{0, 1, 2, 3, 4, 5}
	for i := 0; i < int(nSel); i++ {
		j := 0
		for {
			bit, err := br.bits(1)
			if err != nil {
				return z.short("selectors")
			}
			if bit == 0 {
				break
			}
			j++
			if j >= int(nGroups) {
				return z.corrupt("selector %d names group %d of %d", i, j, nGroups)
			}
		}
		g := mtf[j]
		copy(mtf[1:j+1], mtf[:j])
		mtf[0] = g
		if len(sel) < maxSelectors {
			sel = append(sel, g)
		}
	}
	z.selectors = sel

	// Code lengths: a 5-bit start, then per symbol a delta in 2-bit steps.
	for g := 0; g < int(nGroups); g++ {
		l, err := br.bits(5)
		if err != nil {
			return z.short("huffman code lengths")
		}
		for s := 0; s < alpha; s++ {
			for {
				if l < 1 || l > maxCodeLen {
					return z.corrupt("bad huffman code lengths: table %d symbol %d length %d", g, s, int32(l))
				}
				bit, err := br.bits(1)
				if err != nil {
					return z.short("huffman code lengths")
				}
				if bit == 0 {
					break
				}
				if bit, err = br.bits(1); err != nil {
					return z.short("huffman code lengths")
				}
				if bit == 0 {
					l++
				} else {
					l--
				}
			}
			z.lengths[s] = uint8(l)
		}
		if err := z.tables[g].build(z.lengths[:alpha]); err != nil {
			return z.fail(fmt.Sprintf("table %d", g), err)
		}
	}

	n, err := z.readSymbols(symbols[:nSymbols], alpha)
	if err != nil {
		return err
	}
	if int(origPtr) >= n {
		return z.corrupt("origin pointer %d outside the block of %d bytes", origPtr, n)
	}

	// Inverse BWT: the i-th occurrence of byte c in the block is the
	// (start[c]+i)-th row of the sorted rotations; link each row to the
	// position it came from.
	var start [256]uint32
	var counts [256]uint32
	tt := z.tt[:n]
	for _, v := range tt {
		counts[byte(v)]++
	}
	var sum uint32
	for c := range 256 {
		start[c] = sum
		sum += counts[c]
	}
	for i, v := range tt {
		c := byte(v)
		tt[start[c]] |= uint32(i) << 8
		start[c]++
	}
	z.tPos = tt[origPtr] >> 8
	z.left = n
	z.last, z.run, z.pending = -1, 0, 0
	z.randToGo, z.randIdx = 0, 0
	z.crc = 0xffffffff
	z.inBlock = true
	return nil
}

// readSymbols decodes the Huffman-coded MTF values with their RUNA/RUNB
// zero runs into z.tt (one byte each, in the low bits) and returns the
// block length.
func (z *Reader) readSymbols(symbols []uint8, alpha int) (int, error) {
	br := z.br
	eob := alpha - 1
	var mtf [256]uint8
	for i := range mtf {
		mtf[i] = uint8(i)
	}
	tt := z.tt[:0]
	grow := func(k int) error {
		need := len(tt) + k
		if need > z.blockMax {
			return z.corrupt("block longer than %d bytes", z.blockMax)
		}
		if need > cap(tt) {
			// Grow geometrically up to the block size: a small stream
			// does not pay for a 3.6 MB table.
			nt := make([]uint32, len(tt), min(z.blockMax, max(need, 2*cap(tt), 64<<10)))
			copy(nt, tt)
			tt = nt
		}
		return nil
	}
	run, runBit := 0, 1 // pending zero run: its length and the next digit's weight
	group, groupLeft := -1, 0
	var h *huffman
	for {
		if groupLeft == 0 {
			group++
			if group >= len(z.selectors) {
				z.tt = tt
				return 0, z.corrupt("more symbols than selectors (%d)", len(z.selectors))
			}
			h = &z.tables[z.selectors[group]]
			groupLeft = groupSize
		}
		groupLeft--
		sym, err := h.decode(br)
		if err != nil {
			z.tt = tt
			if err == errBadCode {
				return 0, z.fail("", err)
			}
			return 0, z.short("block data")
		}
		if sym <= 1 { // RUNA adds runBit, RUNB twice that: bijective base 2
			if runBit > z.blockMax {
				z.tt = tt
				return 0, z.corrupt("zero run longer than the block")
			}
			run += runBit << sym
			runBit <<= 1
			continue
		}
		if run > 0 {
			if err := grow(run); err != nil {
				z.tt = tt
				return 0, err
			}
			c := uint32(symbols[mtf[0]])
			for range run {
				tt = append(tt, c)
			}
			run, runBit = 0, 1
		}
		if sym == eob {
			break
		}
		// Move to front: symbol s is MTF index s-1.
		i := sym - 1
		v := mtf[i]
		copy(mtf[1:i+1], mtf[:i])
		mtf[0] = v
		if len(tt) == cap(tt) {
			if err := grow(1); err != nil {
				z.tt = tt
				return 0, err
			}
		}
		tt = append(tt, uint32(symbols[v]))
	}
	z.tt = tt
	return len(tt), nil
}
