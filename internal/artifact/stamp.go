package artifact

import (
	"os"
	"syscall"
)

// FileStamp is what tells a file that was written to from one that was
// not: its identity, size, and modification and change times (the change
// time moves with every write, and no one can set it back).
type FileStamp struct {
	Dev      uint64 `json:"dev"`
	Ino      uint64 `json:"ino"`
	Size     int64  `json:"size"`
	ModNs    int64  `json:"mod_ns"`
	ChangeNs int64  `json:"change_ns"`
}

// StampOf is fi's stamp. ok is false where the system gives no change time
// or identity: the stamp then holds the size and modification time only.
func StampOf(fi os.FileInfo) (s FileStamp, ok bool) {
	s = FileStamp{Size: fi.Size(), ModNs: fi.ModTime().UnixNano()}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok {
		s.Dev, s.Ino, s.ChangeNs = uint64(st.Dev), uint64(st.Ino), st.Ctim.Nano()
	}
	return s, ok
}
