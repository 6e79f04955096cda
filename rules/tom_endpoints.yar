/*
  TOM-Skype upload and keyword-list endpoints. Sources: Villeneuve, "Breaching
  Trust" (Information Warfare Monitor / ONI Asia, 2008); Knockel, Crandall,
  Saia, "Three Researchers, Five Conjectures" (FOCI 2011).
*/
rule TOM_Skype_Agent_Endpoints : endpoint
{
    meta:
        description = "TOM-Skype keyword-list and version-check paths on skypetools.tom.com"
        reference = "https://citizenlab.ca/2013/03/three-researchers-five-conjectures-an-empirical-analysis-of-tom-skype-censorship-and-surveillance/"
        date = "2026-11-23"
        category = "endpoint"
        severity = "high"
    strings:
        $host = "skypetools.tom.com" ascii wide nocase
        $ver = "/agent/skypever.php" ascii wide nocase
        $key = "/agent/keyfile" ascii wide nocase
    condition:
        $host and ($ver or $key)
}
