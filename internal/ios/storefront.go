package ios

import (
	"strconv"
	"strings"
)

// storefronts maps Apple's iTunes/App Store storefront ids to ISO 3166
// country codes and names. Source: Apple's table of storefront ids
// ("Storefront IDs", iTunes affiliate / Linking documentation), the ids
// still sent by the App Store in the X-Apple-Store-Front header. Only a
// small subset is shipped: China (143465, the id the verdict depends on),
// its neighbours and the large markets. An id not listed is reported
// as-is with an empty country.
var storefronts = map[int]struct{ code, name string }{
	143441: {"US", "United States"},
	143442: {"FR", "France"},
	143443: {"DE", "Germany"},
	143444: {"GB", "United Kingdom"},
	143455: {"CA", "Canada"},
	143460: {"AU", "Australia"},
	143462: {"JP", "Japan"},
	143463: {"HK", "Hong Kong"},
	143464: {"SG", "Singapore"},
	143465: {"CN", "China"},
	143466: {"KR", "Korea, Republic of"},
	143467: {"IN", "India"},
	143469: {"RU", "Russia"},
	143470: {"TW", "Taiwan"},
	143515: {"MO", "Macao"},
}

// Storefront parses a storefront value ("143465", "143465-19,29") and returns
// its id, ISO country code and country name ("" when not in the table).
func Storefront(v string) (id int, code, name string) {
	v = strings.TrimSpace(v)
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	id, err := strconv.Atoi(v[:end])
	if err != nil {
		return 0, "", ""
	}
	if c, ok := storefronts[id]; ok {
		return id, c.code, c.name
	}
	return id, "", ""
}
