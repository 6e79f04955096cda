package msi

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/richardlehane/mscfb"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/transform"
)

// Column type bits (msidefs: MSITYPE_*).
const (
	typeValid    = 0x0100
	typeString   = 0x0800
	typeNullable = 0x1000
	typeKey      = 0x2000
	typeTemp     = 0x4000
)

// Caps on what is read from the file, whatever it declares.
const (
	maxTableStream = 32 << 20 // bytes of one table, the string pool or string data
	maxColumns     = 32       // MSI allows 32 columns per table
	maxTables      = 4096
	maxStrings     = 1 << 21 // string pool entries (real pools hold thousands)
	maxCells       = 1 << 22 // rows x columns of one table
)

// database is an MSI's streams, string pool and tables, read from the
// compound file.
type database struct {
	streams  map[string]*mscfb.File // by decoded name, root storage only
	order    []string               // decoded names in directory order
	raw      map[string][]uint16    // decoded name -> UTF-16 raw name, for the signature digest
	pool     []string               // string id -> string ("" for id 0)
	refSize  int                    // bytes per string reference: 2 or 3
	codepage int
	schema   map[string][]column // table -> columns by number
	tables   map[string]*table
	warnings []string
	// substorages: the root holds storages (embedded transforms), which
	// the signature digest would have to include.
	substorages bool
}

type column struct {
	name string
	typ  int
}

func (c column) width(refSize int) int {
	switch {
	case c.typ&^typeNullable == typeString|typeValid: // binary (stream) column
		return 2
	case c.typ&typeString != 0:
		return refSize
	case c.typ&0xFF <= 2:
		return 2
	}
	return 4
}

type table struct {
	name    string
	columns []column
	rows    [][]string
	nulls   [][]bool
}

func (t *table) col(name string) int {
	for i, c := range t.columns {
		if c.name == name {
			return i
		}
	}
	return -1
}

// openDatabase reads the compound file's directory, then the string pool
// and the table catalogue.
func openDatabase(r io.ReaderAt) (*database, error) {
	cf, err := mscfb.New(r)
	if err != nil {
		return nil, fmt.Errorf("msi: open compound file: %w", err)
	}
	db := &database{streams: map[string]*mscfb.File{}, raw: map[string][]uint16{}, schema: map[string][]column{}, tables: map[string]*table{}}
	for i, f := range cf.File {
		if i == 0 {
			continue // the root entry itself
		}
		if len(f.Path) != 0 || f.FileInfo().IsDir() {
			db.substorages = true
			continue // MSI content is in the root storage; sub-storages are transforms
		}
		raw := rawName(f)
		name := decodeStreamName(raw)
		if _, dup := db.streams[name]; dup {
			db.warnings = append(db.warnings, fmt.Sprintf("msi: duplicate stream %q", name))
			continue
		}
		db.streams[name] = f
		db.raw[name] = raw
		db.order = append(db.order, name)
	}
	if err := db.loadStrings(); err != nil {
		return db, err
	}
	if err := db.loadSchema(); err != nil {
		return db, err
	}
	return db, nil
}

// rawName rebuilds the directory entry's UTF-16 name; mscfb drops a
// non-printable first character (the \x05 of property sets) from Name.
func rawName(f *mscfb.File) []uint16 {
	var out []uint16
	first, _ := utf8.DecodeRuneInString(f.Name)
	if f.Initial != 0 && uint16(first) != f.Initial {
		out = append(out, f.Initial)
	}
	for _, r := range f.Name {
		if r > 0xFFFF {
			r -= 0x10000
			out = append(out, uint16(0xD800+(r>>10)), uint16(0xDC00+(r&0x3FF)))
			continue
		}
		out = append(out, uint16(r))
	}
	return out
}

// decodeStreamName undoes MSI's packing of stream names: characters
// 0x3800..0x47FF hold two 6-bit symbols, 0x4800..0x483F one; 0x4840 marks a
// table stream and is kept as tableMarker so tables can be told apart.
// Control characters become
// "[n]" ("\x05SummaryInformation" -> "[5]SummaryInformation").
func decodeStreamName(raw []uint16) string {
	var b strings.Builder
	for _, c := range raw {
		switch {
		case c >= 0x3800 && c < 0x4800:
			c -= 0x3800
			b.WriteByte(mime(c & 0x3F))
			b.WriteByte(mime((c >> 6) & 0x3F))
		case c >= 0x4800 && c < 0x4840:
			b.WriteByte(mime(c - 0x4800))
		case c == 0x4840:
			b.WriteString(tableMarker)
		case c < 0x20:
			fmt.Fprintf(&b, "[%d]", c)
		default:
			b.WriteRune(rune(c))
		}
	}
	return b.String()
}

// tableMarker prefixes the decoded names of table streams.
const tableMarker = "\u4840"

func mime(x uint16) byte {
	switch {
	case x < 10:
		return byte(x) + '0'
	case x < 36:
		return byte(x-10) + 'A'
	case x < 62:
		return byte(x-36) + 'a'
	case x == 62:
		return '.'
	}
	return '_'
}

// readStream reads a whole stream of at most max bytes.
func (db *database) readStream(name string, max int64) ([]byte, error) {
	f := db.streams[name]
	if f == nil {
		return nil, nil
	}
	if f.Size > max {
		return nil, fmt.Errorf("msi: stream %q is %d bytes, more than %d", name, f.Size, max)
	}
	b := make([]byte, f.Size)
	n, err := (&fileReader{f: f}).ReadAt(b, 0)
	if err != nil && err != io.EOF {
		return b[:n], fmt.Errorf("msi: read stream %q: %w", name, err)
	}
	return b[:n], nil
}

func (db *database) loadStrings() error {
	pool, err := db.readStream(tableMarker+"_StringPool", maxTableStream)
	if err != nil {
		return err
	}
	data, err := db.readStream(tableMarker+"_StringData", maxTableStream)
	if err != nil {
		return err
	}
	if pool == nil {
		return fmt.Errorf("msi: no _StringPool stream: not an MSI database")
	}
	le := binary.LittleEndian
	word := func(i int) int { return int(le.Uint16(pool[i*2:])) }
	db.refSize = 2
	if len(pool) >= 4 {
		db.codepage = word(0) | (word(1)&^0x8000)<<16
		if word(1)&0x8000 != 0 {
			db.refSize = 3
		}
	}
	dec := decoderFor(db.codepage)
	count := len(pool) / 4
	if count > maxStrings {
		return fmt.Errorf("msi: string pool of %d entries (max %d)", count, maxStrings)
	}
	db.pool = make([]string, 1, count)
	offset := 0
	for i := 1; i < count; {
		refs := word(i*2 + 1)
		n := word(i * 2)
		if n == 0 && refs == 0 {
			db.pool = append(db.pool, "")
			i++
			continue
		}
		if n == 0 {
			if i+1 >= count {
				break
			}
			n = word(i*2+3)<<16 | word(i*2+2)
			i += 2
		} else {
			i++
		}
		if offset+n > len(data) {
			db.warnings = append(db.warnings, fmt.Sprintf("msi: string pool runs past _StringData (%d+%d > %d)", offset, n, len(data)))
			break
		}
		db.pool = append(db.pool, decodeString(dec, data[offset:offset+n]))
		offset += n
	}
	return nil
}

func decoderFor(cp int) *encoding.Decoder {
	var e encoding.Encoding
	switch cp {
	case 65001:
		return nil
	case 936:
		e = simplifiedchinese.GBK
	case 950:
		e = traditionalchinese.Big5
	case 932:
		e = japanese.ShiftJIS
	case 949:
		e = korean.EUCKR
	case 1250:
		e = charmap.Windows1250
	case 1251:
		e = charmap.Windows1251
	case 0:
		e = neutral{}
	case 1252:
		e = charmap.Windows1252
	default:
		return nil
	}
	return e.NewDecoder()
}

// decodeString turns pool bytes into UTF-8 as the database's codepage says.
// A neutral database (codepage 0) is read as UTF-8 when the bytes are valid
// UTF-8 and as Windows-1252 otherwise; an unknown codepage keeps valid UTF-8
// and marks the rest.
func decodeString(dec *encoding.Decoder, b []byte) string {
	if isASCII(b) {
		return string(b)
	}
	if dec != nil {
		if s, err := dec.Bytes(b); err == nil {
			return string(s)
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// neutral reads codepage-0 (language-neutral) strings: UTF-8 if valid,
// else Windows-1252, the codepage such databases are usually written in.
type neutral struct{}

func (neutral) NewDecoder() *encoding.Decoder {
	return &encoding.Decoder{Transformer: neutralTransformer{}}
}

func (neutral) NewEncoder() *encoding.Encoder { return charmap.Windows1252.NewEncoder() }

type neutralTransformer struct{ transform.NopResetter }

func (neutralTransformer) Transform(dst, src []byte, atEOF bool) (int, int, error) {
	if !atEOF {
		// Decide on the whole string: pool strings are decoded in one call.
		return 0, 0, transform.ErrShortSrc
	}
	if utf8.Valid(src) {
		if len(dst) < len(src) {
			return 0, 0, transform.ErrShortDst
		}
		return copy(dst, src), len(src), nil
	}
	return charmap.Windows1252.NewDecoder().Transform(dst, src, atEOF)
}

func (db *database) str(id int) string {
	if id <= 0 || id >= len(db.pool) {
		return ""
	}
	return db.pool[id]
}

// loadSchema reads _Tables and _Columns, whose own layouts are fixed.
func (db *database) loadSchema() error {
	colsT, err := db.readTable("_Columns", []column{
		{"Table", typeString | typeValid | typeKey | 64}, {"Number", typeValid | typeKey | 2},
		{"Name", typeString | typeValid | 64}, {"Type", typeValid | 2},
	})
	if err != nil {
		return err
	}
	type numbered struct {
		n int
		c column
	}
	byTable := map[string][]numbered{}
	for _, r := range colsT.rows {
		n, _ := strconv.Atoi(r[1])
		typ, _ := strconv.Atoi(r[3])
		if len(byTable[r[0]]) >= maxColumns {
			continue
		}
		byTable[r[0]] = append(byTable[r[0]], numbered{n, column{name: r[2], typ: typ & 0xFFFF}})
	}
	if len(byTable) > maxTables {
		return fmt.Errorf("msi: %d tables in _Columns (max %d)", len(byTable), maxTables)
	}
	for t, cols := range byTable {
		sort.SliceStable(cols, func(a, b int) bool { return cols[a].n < cols[b].n })
		for _, c := range cols {
			if c.c.typ&typeTemp != 0 {
				continue
			}
			db.schema[t] = append(db.schema[t], c.c)
		}
	}
	return nil
}

// table reads a user table by name (cached). A table in the schema without
// a stream has no rows.
func (db *database) table(name string) (*table, error) {
	if t, ok := db.tables[name]; ok {
		return t, nil
	}
	cols, ok := db.schema[name]
	if !ok {
		return nil, nil
	}
	t, err := db.readTable(name, cols)
	if err != nil {
		return t, err
	}
	db.tables[name] = t
	return t, nil
}

// readTable decodes a table stream: column-major, each value a string
// reference or an integer stored with its sign bit flipped (0 is NULL).
func (db *database) readTable(name string, cols []column) (*table, error) {
	data, err := db.readStream(tableMarker+name, maxTableStream)
	if err != nil {
		return &table{name: name, columns: cols}, err
	}
	return db.decodeTable(name, cols, data)
}

// decodeTable decodes a table stream's bytes.
func (db *database) decodeTable(name string, cols []column, data []byte) (*table, error) {
	t := &table{name: name, columns: cols}
	rowSize := 0
	for _, c := range cols {
		rowSize += c.width(db.refSize)
	}
	if rowSize == 0 || len(data) == 0 {
		return t, nil
	}
	if len(data)%rowSize != 0 {
		db.warnings = append(db.warnings, fmt.Sprintf("msi: table %s: %d bytes is not a whole number of %d-byte rows", name, len(data), rowSize))
	}
	nrows := len(data) / rowSize
	if nrows*len(cols) > maxCells {
		return t, fmt.Errorf("msi: table %s: %d rows of %d columns (max %d cells)", name, nrows, len(cols), maxCells)
	}
	t.rows = make([][]string, nrows)
	t.nulls = make([][]bool, nrows)
	for i := range t.rows {
		t.rows[i] = make([]string, len(cols))
		t.nulls[i] = make([]bool, len(cols))
	}
	off := 0
	le := binary.LittleEndian
	for ci, c := range cols {
		w := c.width(db.refSize)
		for ri := 0; ri < nrows; ri++ {
			p := data[off+ri*w:]
			var v uint32
			switch w {
			case 2:
				v = uint32(le.Uint16(p))
			case 3:
				v = uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16
			default:
				v = le.Uint32(p)
			}
			var s string
			null := v == 0
			switch {
			case null:
			case c.typ&^typeNullable == typeString|typeValid:
				s = "[stream]" // filled in below, once the key is known
			case c.typ&typeString != 0:
				s = db.str(int(v))
			case w == 2:
				s = strconv.Itoa(int(int16(uint16(v) ^ 0x8000)))
			default:
				s = strconv.Itoa(int(int32(v ^ 0x80000000)))
			}
			t.rows[ri][ci] = s
			t.nulls[ri][ci] = null
		}
		off += nrows * w
	}
	// Binary columns name a stream "<Table>.<key1>.<key2>...".
	for ci, c := range cols {
		if c.typ&^typeNullable != typeString|typeValid {
			continue
		}
		for ri := range t.rows {
			if t.nulls[ri][ci] {
				continue
			}
			parts := []string{name}
			for kj, kc := range cols {
				if kc.typ&typeKey != 0 {
					parts = append(parts, t.rows[ri][kj])
				}
			}
			t.rows[ri][ci] = strings.Join(parts, ".")
		}
	}
	return t, nil
}
