package filetype

import (
	"encoding/binary"
	"testing"
)

func minimalPE() []byte {
	b := make([]byte, 0x200)
	b[0], b[1] = 'M', 'Z'
	binary.LittleEndian.PutUint32(b[0x3c:], 0x80)
	copy(b[0x80:], "PE\x00\x00")
	return b
}

func TestSniff(t *testing.T) {
	dosOnly := minimalPE()
	binary.LittleEndian.PutUint32(dosOnly[0x3c:], 0x1000) // header beyond the head
	cases := []struct {
		name string
		head []byte
		want string
	}{
		{"empty", nil, Empty},
		{"pe", minimalPE(), PE},
		{"mz without reachable PE header", dosOnly, "mz"},
		{"zip", []byte("PK\x03\x04rest"), ZIP},
		{"empty zip", []byte("PK\x05\x06"), ZIP},
		{"cab", []byte("MSCF\x00\x00\x00\x00...."), CAB},
		{"installshield cab", []byte("ISc(...."), ISCab},
		{"ole", []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0}, OLE},
		{"7z", []byte{'7', 'z', 0xBC, 0xAF, 0x27, 0x1C, 0, 4}, SevenZ},
		{"gzip", []byte{0x1f, 0x8b, 8, 0}, Gzip},
		{"bzip2", []byte("BZh91AY&SY"), Bzip2},
		{"not bzip2", []byte("BZhx"), Text},
		{"xz", []byte{0xFD, '7', 'z', 'X', 'Z', 0x00, 0}, XZ},
		{"elf", []byte("\x7fELF\x02\x01\x01"), ELF},
		{"mach-o 64 le", []byte{0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0, 0, 1}, MachO},
		{"mach-o 32 le", []byte{0xce, 0xfa, 0xed, 0xfe, 7, 0, 0, 0}, MachO},
		{"mach-o 32 be (ppc)", []byte{0xfe, 0xed, 0xfa, 0xce, 0, 0, 0, 18}, MachO},
		{"universal arm64+x86_64", []byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2, 1, 0, 0, 12, 0, 0, 0, 0}, MachO},
		{"java class is not universal", []byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52, 0, 0x1d, 0x0a, 0}, Unknown},
		{"cafebabe with unknown cpu", []byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2, 0, 0, 0, 99, 0, 0, 0, 0}, Unknown},
		{"text", []byte("[Setup]\r\nAppName=Skype\r\n"), Text},
		{"utf16 text", []byte{0xFF, 0xFE, 'a', 0, 'b', 0}, Text},
		{"binary", []byte{0x00, 0x01, 0x02, 0x03, 0x9c}, Unknown},
	}
	for _, c := range cases {
		if got := Sniff(c.head); got != c.want {
			t.Errorf("%s: Sniff = %q, want %q", c.name, got, c.want)
		}
	}
}

func FuzzSniff(f *testing.F) {
	f.Add(minimalPE())
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if Sniff(b) == "" {
			t.Fatal("Sniff returned no type")
		}
	})
}
