/*
  TOM-Skype keyword-list, version-check and message-upload endpoints.

  Knockel et al. (FOCI 2011) found the lists fetched from
  http://skypetools.tom.com/agent/keyfile (censor and upload) and, from
  5.1.4.10 on, /agent/keyfile_u (upload only, not censored), with a version
  check at /agent/skypever.php?md5=; Villeneuve (2008) found the messages
  uploaded to servers addressed by IPv4 literals.
*/

rule TOMSkype_Endpoint_Agent : endpoint
{
    meta:
        description = "TOM-Skype: a skypetools.tom.com /agent/ URL (keyword lists, version check)"
        reference = "https://www.cs.unm.edu/~jeffk/publications/foci11tomskype.pdf"
        date = "2026-11-23"
        category = "endpoint"
        severity = "high"
        example = "tom-en-5.1.4.10-nsis"
    strings:
        $url = "skypetools.tom.com/agent/" ascii wide nocase
        $host = "skypetools.tom.com" ascii wide nocase
        $path_list = "/agent/keyfile" ascii wide nocase
        $path_ver = "/agent/skypever.php" ascii wide nocase
    condition:
        $url or ($host and ($path_list or $path_ver))
}

rule TOMSkype_Endpoint_KeyfileU : endpoint
{
    meta:
        description = "TOM-Skype 5.1.4.10 and later: the surveillance-only keyword list /agent/keyfile_u"
        reference = "https://www.cs.unm.edu/~jeffk/publications/foci11tomskype.pdf"
        date = "2026-11-23"
        category = "endpoint"
        severity = "critical"
        example = "tom-en-5.1.4.10-nsis"
    strings:
        $path = "/agent/keyfile_u" ascii wide nocase
    condition:
        $path
}

rule TOMSkype_Endpoint_UploadIP : endpoint
{
    meta:
        description = "TOM-Skype: message-upload URL on an IPv4 literal, in a TOM-Skype binary (client, ContentFilter.exe) or in the client configuration an installer ships"
        reference = "http://www.infowar-monitor.net/breachingtrust/"
        date = "2026-11-23"
        category = "endpoint"
        severity = "critical"
        example = "tom-en-5.1.4.10-nsis"
        example = "tom-zh-3.6.0.216-nsis"
    strings:
        $ip_url = /http:\/\/[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(:[0-9]{1,5})?\/[!-~]{1,64}/ ascii wide
        // an XML client configuration whose <url> element holds one
        $cfg_url = /<url[ -~]{0,64}>http:\/\/[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(:[0-9]{1,5})?\/[!-~]{1,64}<\/url>/ ascii wide
        $tom_host = "skypetools.tom.com" ascii wide nocase
        $tom_list = "/agent/keyfile" ascii wide nocase
        $tom_product = "TOM-Skype" ascii wide nocase
        $tom_review = "Tom Word Review" ascii wide nocase
        $tom_indy = "Mozilla/3.0 (compatible; Indy Library)" ascii wide
    condition:
        ($ip_url and any of ($tom_*))
        or ($cfg_url and filesize < 64KB and depth >= 1
            and (uint32(0) == 0x6D783F3C or uint32(0) == 0x003CFEFF)) // "<?xm", or a UTF-16LE BOM and "<"
}
