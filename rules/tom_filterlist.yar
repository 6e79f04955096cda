/*
  TOM-Skype filter-list and surveillance key material.

  The 3.6/4.0 clients encrypted the chat messages they uploaded with single
  DES under a key hard-coded in the client (Villeneuve 2008 found the
  uploaded messages and the key that decrypts them; Knockel et al. 2011
  describe the keys kept beside the list and upload URLs in the client's
  data). Keys are random bytes: a byte pattern can only find one where the
  client's static data puts it right after the upload URL, as 8 raw bytes or
  16 hexadecimal characters.
*/

rule TOMSkype_DES_UploadKey : filter_list
{
    meta:
        description = "TOM-Skype 3.6/4.0: an 8-byte DES key (raw, or 16 hex characters) stored right after the message-upload URL on an IPv4 literal, in a file with TOM-Skype endpoints"
        reference = "http://www.infowar-monitor.net/breachingtrust/ ; https://www.cs.unm.edu/~jeffk/publications/foci11tomskype.pdf"
        date = "2026-11-23"
        category = "filter-list"
        severity = "critical"
        example = "tom-en-3.6.0.248-nsis"
        example = "tom-en-4.0.0.227-7z-sfx"
    strings:
        // URL, its NUL, 8 key bytes without NUL, then the NUL padding that ends the static block
        $raw_key = /http:\/\/[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(:[0-9]{1,5})?\/[!-~]{1,64}\x00[\x01-\xff]{8}\x00\x00/
        $hex_key = /http:\/\/[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(:[0-9]{1,5})?\/[!-~]{1,64}\x00[0-9a-fA-F]{16}\x00/
        $tom_host = "skypetools.tom.com" ascii wide nocase
    condition:
        uint16(0) == 0x5A4D and $tom_host and ($raw_key or $hex_key)
}
