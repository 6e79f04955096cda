package gen

import (
	"fmt"
	"strings"
)

// identity is the text a kind's client shows: version info, About box, UI.
type identity struct {
	company, product, description, copyright string
	aboutCaption, aboutText                  string
	ui                                       []string // STRINGTABLE entries before endpoints
}

func majorMinor(v string) string {
	p := strings.Split(v, ".")
	return p[0] + "." + p[1]
}

func (b *builder) identity() identity {
	s := b.spec
	mm := majorMinor(s.Version)
	switch s.Kind {
	case KindRegular:
		id := identity{
			company: "Skype Technologies S.A.", product: "Skype", description: "Skype",
			copyright:    "(c) 2003-2011 Skype Technologies S.A., Luxembourg",
			aboutCaption: "About Skype",
			aboutText:    fmt.Sprintf("Skype (TM) Version %s. (c) 2003-2011 Skype Technologies S.A., Luxembourg. Skype and the S logo are trademarks of Skype.", s.Version),
			ui:           []string{"Skype", "Sign in to Skype", "Call phones", "Your contacts are online"},
		}
		if s.HelpText != "" {
			id.ui = append(id.ui, s.HelpText)
		}
		return id
	case KindTOMEnglish:
		// Installer and UI look like the regular client; the About text and
		// resources name TOM Online and TOM-Skype.
		return identity{
			company: "TOM Online Inc. and Skype Technologies S.A.", product: "TOM-Skype", description: "Skype",
			copyright:    "(c) 2005-2011 TOM Online Inc. and Skype Technologies S.A.",
			aboutCaption: "About Skype",
			aboutText:    fmt.Sprintf("TOM-Skype (TM) Version %s. Skype is distributed in China by TOM Online Inc. under licence from Skype Technologies S.A.", s.Version),
			ui:           []string{"Skype", "Sign in to Skype", "Call phones", "TOM-Skype (TM) " + mm},
		}
	case KindTOMChinese:
		return identity{
			company: "TOM在线", product: "TOM-Skype", description: "TOM-Skype 网络电话",
			copyright:    "版权所有 (C) 2005-2011 TOM在线 北京 Skype Technologies S.A.",
			aboutCaption: "关于 TOM-Skype",
			aboutText:    fmt.Sprintf("TOM-Skype (TM) 版本 %s 由TOM在线与Skype合作推出。欢迎使用免费网络电话。", s.Version),
			ui:           []string{"TOM-Skype", "登录", "拨打电话", "联系人", "您的联系人在线"},
		}
	case KindJointVenture:
		return identity{
			company: "Skype Technologies S.A.", product: "Skype", description: "Skype",
			copyright:    "(c) 2013 Skype and Guangming Online (gmw.cn) joint venture",
			aboutCaption: "About Skype",
			aboutText:    fmt.Sprintf("Skype (TM) Version %s, provided in China by the Skype and Guangming Online joint venture (skype.gmw.cn).", s.Version),
			ui:           []string{"Skype", "Sign in to Skype", "Skype中国版", "Skype China: skype.gmw.cn"},
		}
	default:
		return identity{
			company: "Contoso Notes Ltd.", product: "Contoso Notes", description: "Contoso Notes editor",
			copyright:    "(c) 2011 Contoso Notes Ltd.",
			aboutCaption: "About Contoso Notes",
			aboutText:    fmt.Sprintf("Contoso Notes %s. A small note-taking program. Not related to any messenger.", s.Version),
			ui:           []string{"Contoso Notes", "New note", "Save note", "Untitled"},
		}
	}
}

// productName and companyASCII are for installer metadata (NSIS, MSI), which
// stays ASCII: the era's Chinese installers also kept English product codes.
func (b *builder) productName() string {
	switch b.spec.Kind {
	case KindTOMChinese, KindTOMEnglish:
		if b.spec.Kind == KindTOMChinese {
			return "TOM-Skype"
		}
		return "Skype" // looks like the regular installer
	case KindUnrelated:
		return "Contoso Notes"
	}
	return "Skype"
}

func (b *builder) companyASCII() string {
	switch b.spec.Kind {
	case KindTOMChinese:
		return "TOM Online Inc."
	case KindUnrelated:
		return "Contoso Notes Ltd."
	}
	return "Skype Technologies S.A."
}
