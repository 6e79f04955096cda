rule Broken_Fine
{
    condition:
        true
}

rule Broken_Bad
{
    strings:
        $a = "TOM-Skype"
    condition:
        $a and $b
}
