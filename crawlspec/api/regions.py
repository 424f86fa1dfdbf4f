"""The Research API's region codes (identical in the API's docs, its SDK and the older tool)."""

from __future__ import annotations

REGION_CODES: frozenset[str] = frozenset(
    """
    FR TH MM BD IT NP IQ BR US KW VN AR KZ GB UA TR ID PK NG KH PH EG QA MY ES JO MA SA TW AF EC MX BW JP LT TN
    RO LY IL DZ CG GH DE BJ SN SK BY NL LA BE DO TZ LK NI LB IE RS HU PT GP CM HN FI GA BN SG BO GM BG SD TT OM FO
    MZ ML UG RE PY GT CI SR AO AZ LR CD HR SV MV GY BH TG SL MK KE MT MG MR PA IS LU HT TM ZM CR NO AL ET GW AU KR
    UY JM DK AE MD SE MU SO CO AT GR UZ CL GE PL CA CZ ZA AI VE KG PE CH LV PR NZ TL BT MN FJ SZ VU BF TJ BA AM TD
    SI CY MW EE XK ME KY YE LS ZW MC GN BS PF NA VI BB BZ CW PS FM PG BI AD TV GL KM AW TC CV MO VC NE WS MP DJ RW
    AG GI GQ AS AX TO KN LC NC LI SS IR SY IM SC VG SB DM KI UM SX GD MH BQ YT ST CF BM SM PW GU HK IN CK AQ WF JE
    MQ CN GF MS GG TK FK PM NU MF ER NF VA IO SH BL CU NR TP BV EH PN TF RU
    """.split()  # noqa: SIM905 - one code after another, as the API's docs print them: easy to diff
)

assert len(REGION_CODES) == 245, len(REGION_CODES)
