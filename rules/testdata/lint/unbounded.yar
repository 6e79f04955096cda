rule Fixture_Unbounded
{
    meta:
        description = "unbounded regexes and jumps"
        reference = "https://example.org/fixture"
        date = "2026-11-23"
        category = "endpoint"
        severity = "low"
        example = "tom-en-5.1.4.10-nsis"
    strings:
        $dotstar = /tom\.com.*agent/
        $plus = /skypever\.php\?md5=[0-9a-f]+/
        $negclass = /keyfile[^\x00]*/
        $openrange = /agentagent{2,}/
        $jump = { 73 6B 79 70 65 [4-] 74 6F 6D }
    condition:
        any of them
}
