package bzip2

// bzip2's CRC is CRC-32 with polynomial 0x04C11DB7 taken most significant
// bit first (not reflected, unlike hash/crc32's IEEE table), so it has its
// own table.
var crcTable = func() (t [256]uint32) {
	for i := range t {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04C11DB7
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

func crcUpdate(crc uint32, b byte) uint32 { return crc<<8 ^ crcTable[byte(crc>>24)^b] }
