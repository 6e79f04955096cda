package keysearch

import (
	"encoding/binary"
	"math/bits"
	"sync"
)

// A DES for the key search: every window offset is a candidate key, and all
// that is asked of most of them is one block (the first of each blob).
// crypto/des spends far more on its key schedule (bit-by-bit permutations,
// and an allocation) than on a block, so here the permutations go by byte
// tables built once, the schedule fills a value the search reuses, and
// nothing is allocated per key. TestFastDESMatchesCryptoDES checks it
// against crypto/des on random keys and blocks; survivors are decrypted in
// full by crypto/des as before.
//
// The tables are FIPS 46-3's, as published: bit 1 is the most significant.

var (
	ipTable = [64]byte{
		58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
		62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
		57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
		61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
	}
	pTable = [32]byte{
		16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
		2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
	}
	pc1Table = [56]byte{
		57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
		10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
		63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
		14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
	}
	pc2Table = [48]byte{
		14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10,
		23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
		41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48,
		44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
	}
	ksShifts  = [16]uint{1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1}
	sBoxTable = [8][4][16]byte{
		{{14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7}, {0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8},
			{4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0}, {15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13}},
		{{15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10}, {3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5},
			{0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15}, {13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9}},
		{{10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8}, {13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1},
			{13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7}, {1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12}},
		{{7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15}, {13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9},
			{10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4}, {3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14}},
		{{2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9}, {14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6},
			{4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14}, {11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3}},
		{{12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11}, {10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8},
			{9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6}, {4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13}},
		{{4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1}, {13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6},
			{1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2}, {6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12}},
		{{13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7}, {1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2},
			{7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8}, {2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11}},
	}
)

// permute applies a FIPS table: output bit i (of len(table), from the most
// significant) is input bit table[i] (of inBits, from the most significant).
func permute(src uint64, inBits int, table []byte) uint64 {
	var out uint64
	n := len(table)
	for i, p := range table {
		out |= (src >> (inBits - int(p)) & 1) << (n - 1 - i)
	}
	return out
}

// byteTables turns a permutation into one table per input byte (the most
// significant first): the permutation of x is the OR of its bytes' entries.
func byteTables(inBits int, table []byte) [][256]uint64 {
	t := make([][256]uint64, inBits/8)
	for k := range t {
		for v := range 256 {
			t[k][v] = permute(uint64(v)<<(inBits-8-8*k), inBits, table)
		}
	}
	return t
}

var (
	ipTabs, fpTabs, pc1Tabs, pc2Tabs [][256]uint64
	spBox                            [8][64]uint32 // S-box j then P, for each 6-bit input
)

// desTables builds the tables on first use rather than at start, which
// every tomscan process would pay whether or not it searches for a key.
var desTables sync.Once

func initDESTables() {
	var fp [64]byte // the final permutation is the initial one's inverse
	for i, p := range ipTable {
		fp[p-1] = byte(i + 1)
	}
	ipTabs, fpTabs = byteTables(64, ipTable[:]), byteTables(64, fp[:])
	pc1Tabs, pc2Tabs = byteTables(64, pc1Table[:]), byteTables(56, pc2Table[:])
	for j := range spBox {
		for b := range 64 {
			row, col := (b>>4)&2|b&1, (b>>1)&0xf
			s := uint64(sBoxTable[j][row][col]) << (28 - 4*j)
			spBox[j][b] = uint32(permute(s, 32, pTable[:]))
		}
	}
}

func perm64(x uint64, tabs [][256]uint64) uint64 {
	return tabs[0][x>>56] | tabs[1][x>>48&0xff] | tabs[2][x>>40&0xff] | tabs[3][x>>32&0xff] |
		tabs[4][x>>24&0xff] | tabs[5][x>>16&0xff] | tabs[6][x>>8&0xff] | tabs[7][x&0xff]
}

// fastDES is one key's schedule: the 16 round keys, each as the eight 6-bit
// groups the S-boxes take.
type fastDES struct {
	k [16][8]uint8
}

// setKey computes the schedule of an 8-byte key.
func (d *fastDES) setKey(key []byte) {
	desTables.Do(initDESTables)
	cd := perm64(binary.BigEndian.Uint64(key), pc1Tabs) // 56 bits
	c, e := uint32(cd>>28), uint32(cd&0xfffffff)
	for i, s := range ksShifts {
		c = (c<<s | c>>(28-s)) & 0xfffffff
		e = (e<<s | e>>(28-s)) & 0xfffffff
		x := uint64(c)<<28 | uint64(e)
		k := pc2Tabs[0][x>>48] | pc2Tabs[1][x>>40&0xff] | pc2Tabs[2][x>>32&0xff] | pc2Tabs[3][x>>24&0xff] |
			pc2Tabs[4][x>>16&0xff] | pc2Tabs[5][x>>8&0xff] | pc2Tabs[6][x&0xff]
		for j := range 8 {
			d.k[i][j] = uint8(k >> (42 - 6*j) & 0x3f)
		}
	}
}

// feistel is DES's f: E expands r into eight 6-bit groups (group j is bits
// 4j to 4j+5, 1-based and wrapping, so a rotation brings it down), each
// XORed with the round key's and looked up in its S-box-then-P table.
func (d *fastDES) feistel(r uint32, round int) uint32 {
	k := &d.k[round]
	var f uint32
	for j := range 8 {
		g := uint8(bits.RotateLeft32(r, 4*j+5) & 0x3f)
		f |= spBox[j][g^k[j]]
	}
	return f
}

func (d *fastDES) crypt(dst, src []byte, decrypt bool) {
	x := perm64(binary.BigEndian.Uint64(src), ipTabs)
	l, r := uint32(x>>32), uint32(x)
	for i := range 16 {
		round := i
		if decrypt {
			round = 15 - i
		}
		l, r = r, l^d.feistel(r, round)
	}
	binary.BigEndian.PutUint64(dst, perm64(uint64(r)<<32|uint64(l), fpTabs))
}

// decryptBlock decrypts the 8 bytes of src into dst.
func (d *fastDES) decryptBlock(dst, src []byte) { d.crypt(dst, src, true) }
