package endpoints

import (
	"reflect"
	"testing"
)

func TestFind(t *testing.T) {
	type hit struct {
		Value, Kind, Host, Class string
		Offset                   int64
	}
	for _, tc := range []struct {
		name, value, enc string
		off              int64
		want             []hit
	}{
		{"list url", "http://skypetools.tom.com/agent/keyfile", "ascii", 100,
			[]hit{{"http://skypetools.tom.com/agent/keyfile", KindURL, "skypetools.tom.com", ClassKeywordList, 100}}},
		{"keyfile_u", "GET http://skypetools.tom.com/agent/keyfile_u HTTP/1.0", "ascii", 0,
			[]hit{{"http://skypetools.tom.com/agent/keyfile_u", KindURL, "skypetools.tom.com", ClassKeywordList, 4}}},
		{"version check", "http://skypetools.tom.com/agent/skypever.php?md5=", "utf16le", 10,
			[]hit{{"http://skypetools.tom.com/agent/skypever.php?md5=", KindURL, "skypetools.tom.com", ClassVersion, 10}}},
		{"upload on ip", "url=http://219.133.49.171:8080/cgi-bin/msg.cgi", "utf16le", 10,
			[]hit{{"http://219.133.49.171:8080/cgi-bin/msg.cgi", KindURL, "219.133.49.171", ClassUpload, 10 + 2*4}}},
		{"update", "(http://download.skype.com/SkypeSetup.exe).", "ascii", 0,
			[]hit{{"http://download.skype.com/SkypeSetup.exe", KindURL, "download.skype.com", ClassUpdate, 1}}},
		{"other url", "see https://www.skype.com/intl/en/", "ascii", 0,
			[]hit{{"https://www.skype.com/intl/en/", KindURL, "www.skype.com", ClassOther, 4}}},
		{"gbk offset", "访问skype.tom.com", "gbk", 0,
			[]hit{{"skype.tom.com", KindHost, "skype.tom.com", ClassOther, 4}}},
		{"bare ip and host", "server 219.133.49.171 or skype.gmw.cn", "ascii", 0,
			[]hit{{"219.133.49.171", KindIPv4, "219.133.49.171", ClassOther, 7}, {"skype.gmw.cn", KindHost, "skype.gmw.cn", ClassOther, 25}}},
		{"ip with port", "5.6.7.8:80", "ascii", 0,
			[]hit{{"5.6.7.8:80", KindIPv4, "5.6.7.8", ClassOther, 0}}},
		{"version is no ip", "FileVersion 5.1.4.10", "ascii", 0, nil},
		{"long version is no ip", "3.6.0.248.1", "ascii", 0, nil},
		{"private ip", "192.168.1.1", "ascii", 0, nil},
		{"file names are no hosts", "Skype.exe msvcrt.dll System.Net.Http", "ascii", 0, nil},
		{"format string host", "http://%s/agent/keyfile", "ascii", 0, nil},
		{"decoy host", "http://harmless-tom.com/", "ascii", 0,
			[]hit{{"http://harmless-tom.com/", KindURL, "harmless-tom.com", ClassOther, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []hit
			for _, h := range Find(tc.value, tc.off, tc.enc) {
				got = append(got, hit(h))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Find(%q) =\n %+v\nwant\n %+v", tc.value, got, tc.want)
			}
		})
	}
}

func TestClassifyURL(t *testing.T) {
	for u, want := range map[string]string{
		"http://skypetools.tom.com/agent/keyfile":                                   ClassKeywordList,
		"http://skypetools.tom.com/agent/keyfile_u":                                 ClassKeywordList,
		"http://skypetools.tom.com/agent/skypever.php":                              ClassVersion,
		"http://61.135.159.96/upload":                                               ClassUpload,
		"http://example.com/msg/upload.php":                                         ClassUpload,
		"http://61.135.159.96/":                                                     ClassOther,
		"http://ui.skype.com/ui/0/5.1/en/getlatestversion":                          ClassVersion,
		"http://update.skype.com/":                                                  ClassUpdate,
		"http://skype.tom.com/SkypeSetup.exe?x=1":                                   ClassUpdate,
		"http://skype.gmw.cn/":                                                      ClassUpdate,
		"http://schemas.microsoft.com/windows/2003/08/printing/printschemakeywords": ClassOther,
		"http://skype.gmw.cn/about/privacy.html":                                    ClassOther,
		"http://www.tom.com/":                                                       ClassOther,
	} {
		if got := ClassifyURL(u); got != want {
			t.Errorf("ClassifyURL(%s) = %s, want %s", u, got, want)
		}
	}
}

func FuzzFind(f *testing.F) {
	f.Add("http://219.133.49.171:8080/x http://a.b.cn/keyfile 1.2.3.4 www.tom.com", int64(0), "ascii")
	f.Fuzz(func(t *testing.T, s string, off int64, enc string) {
		if off < 0 || off > 1<<40 {
			return
		}
		for _, h := range Find(s, off, enc) {
			if h.Offset < off || h.Value == "" || h.Host == "" {
				t.Fatalf("bad hit %+v", h)
			}
		}
	})
}

// A STRINGTABLE entry is length-prefixed: the extracted UTF-16 run starts
// with the length character glued to the scheme ("1http://...").
func TestLengthPrefixedURL(t *testing.T) {
	h := Find("1http://skypetools.tom.com/agent/skypever.php?md5=", 100, "utf16le")
	if len(h) != 1 || h[0].Value != "http://skypetools.tom.com/agent/skypever.php?md5=" || h[0].Offset != 102 || h[0].Class != ClassVersion {
		t.Fatalf("Find = %+v", h)
	}
}
