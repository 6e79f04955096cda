/*
  TOM-Skype identity: the names TOM Online put into its build of the Skype
  client and into the ContentFilter.exe companion ("Tom Word Review").

  Sources:
  - N. Villeneuve, "Breaching Trust: An analysis of surveillance and security
    practices on China's TOM-Skype platform", Information Warfare Monitor /
    ONI Asia, JR01-2008, 1 October 2008.
  - J. Knockel, J. R. Crandall, J. Saia, "Three Researchers, Five
    Conjectures: An Empirical Analysis of TOM-Skype Censorship and
    Surveillance", USENIX FOCI 2011.
*/

rule TOMSkype_Identity : identity
{
    meta:
        description = "TOM-Skype: the client names TOM Online or TOM-Skype in its version info, About text or UI strings"
        reference = "http://www.infowar-monitor.net/breachingtrust/ ; https://www.cs.unm.edu/~jeffk/publications/foci11tomskype.pdf"
        date = "2026-11-23"
        category = "identity"
        severity = "high"
        example = "tom-en-5.1.4.10-nsis"
    strings:
        $product = "TOM-Skype" ascii wide nocase
        $company = "TOM Online" ascii wide nocase
        // "TOM在线" (TOM Online) as the Chinese builds write it: GBK and UTF-16LE
        $company_gbk = { 54 4F 4D D4 DA CF DF }
        $company_u16 = { 54 00 4F 00 4D 00 28 57 BF 7E }
    condition:
        any of them
}

rule TOMSkype_ContentFilter : identity
{
    meta:
        description = "TOM-Skype ContentFilter.exe companion: version info \"Tom Word Review\", or its file name with the Indy HTTP client it fetched lists with"
        reference = "https://www.cs.unm.edu/~jeffk/publications/foci11tomskype.pdf"
        date = "2026-11-23"
        category = "identity"
        severity = "high"
        example = "tom-zh-3.6.0.216-nsis"
    strings:
        $review = "Tom Word Review" ascii wide nocase
        $indy = "Mozilla/3.0 (compatible; Indy Library)" ascii wide
    condition:
        $review or ($indy and filename icontains "contentfilter")
}
