rule Fixture_Unused
{
    meta:
        description = "one string the condition forgets"
        reference = "https://example.org/fixture"
        date = "2026-11-23"
        category = "identity"
        severity = "info"
        example = "tom-en-5.1.4.10-nsis"
    strings:
        $used = "TOM-Skype"
        $forgotten = "Tom Word Review"
        $prefix_a = "skypetools"
        $prefix_b = "keyfile_u"
    condition:
        $used and any of ($prefix*)
}
