/*
  Contrast rules: regular Skype and the post-TOM joint-venture build, so that
  a report says what a Skype build is when it is not TOM-Skype.

  After TOM, Microsoft partnered with the Guangming Online joint venture
  (skype.gmw.cn); the Citizen Lab found no added filter in that build.
*/

rule Skype_JointVenture_GMW : contrast
{
    meta:
        description = "Post-TOM Skype for China from the Guangming Online joint venture (skype.gmw.cn hosts)"
        reference = "https://github.com/citizenlab/chat-censorship/tree/master/TOM-Skype--Sina-UC"
        date = "2026-11-23"
        category = "contrast"
        severity = "info"
        example = "gmw-zh-6.1.0.129-msi"
    strings:
        $site = "skype.gmw.cn" ascii wide nocase
        $img = "imgskype.gmw.cn" ascii wide nocase
    condition:
        any of them
}

rule Skype_Regular_Identity : contrast
{
    meta:
        description = "Regular Skype client: version info of Skype Technologies S.A. for Skype.exe, or a Mach-O whose code signature names Skype for iPhone's bundle id com.skype.skype, with no TOM-Skype or joint-venture mark in the same file"
        reference = "https://www.cs.unm.edu/~jeffk/publications/foci11tomskype.pdf"
        date = "2026-11-23"
        category = "contrast"
        severity = "info"
        example = "skype-en-5.1.0.112-zip"
        example = "skype-en-5.1.0.112-nsis-decoy"
        example = "skype-ios-en-4.17.0.3303-ipa"
    strings:
        // VS_VERSIONINFO strings are UTF-16LE: key, NUL, padding to 4 bytes, value
        $company = "Skype Technologies S.A." wide
        $origname = "OriginalFilename" wide
        $exe = "Skype.exe" wide nocase
        $tom_product = "TOM-Skype" ascii wide nocase
        $tom_company = "TOM Online" ascii wide nocase
        $tom_company_gbk = { 54 4F 4D D4 DA CF DF }
        $tom_company_u16 = { 54 00 4F 00 4D 00 28 57 BF 7E }
        $tom_review = "Tom Word Review" ascii wide nocase
        $tom_agent = "skypetools.tom.com" ascii wide nocase
        $gmw = "skype.gmw.cn" ascii wide nocase
        // CodeDirectory identifier (NUL-terminated) of the App Store build
        $ios_bundle = "com.skype.skype\x00"
    condition:
        (
            (uint16(0) == 0x5A4D and $company
             and for any i in (1..#origname): ($exe in (@origname[i] + 32 .. @origname[i] + 40)))
            or (filetype == "macho" and $ios_bundle)
        )
        and not any of ($tom_*) and not $gmw
}
