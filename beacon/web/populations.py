"""Names for the population codes of `frequencyInPopulations`: ISO 3166-1 country names for Genome of Europe
codes (`GB`, `FI_F`...), the 1000 Genomes panel's population labels, and the sex splits."""

from __future__ import annotations

COUNTRIES = {
    "AD": "Andorra", "AL": "Albania", "AM": "Armenia", "AT": "Austria", "AZ": "Azerbaijan",
    "BA": "Bosnia and Herzegovina", "BE": "Belgium", "BG": "Bulgaria", "BY": "Belarus", "CH": "Switzerland",
    "CY": "Cyprus", "CZ": "Czechia", "DE": "Germany", "DK": "Denmark", "EE": "Estonia", "ES": "Spain",
    "FI": "Finland", "FO": "Faroe Islands", "FR": "France", "GB": "United Kingdom", "GE": "Georgia",
    "GR": "Greece", "HR": "Croatia", "HU": "Hungary", "IE": "Ireland", "IS": "Iceland", "IT": "Italy",
    "LI": "Liechtenstein", "LT": "Lithuania", "LU": "Luxembourg", "LV": "Latvia", "MC": "Monaco",
    "MD": "Moldova", "ME": "Montenegro", "MK": "North Macedonia", "MT": "Malta", "NL": "Netherlands",
    "NO": "Norway", "PL": "Poland", "PT": "Portugal", "RO": "Romania", "RS": "Serbia", "SE": "Sweden",
    "SI": "Slovenia", "SK": "Slovakia", "SM": "San Marino", "TR": "Türkiye", "UA": "Ukraine",
    "VA": "Holy See", "XK": "Kosovo",
}  # fmt: skip
"""ISO 3166-1 alpha-2 codes of the European countries (the Genome of Europe's population codes)."""

PANEL_POPULATIONS = {
    "ACB": "African Caribbean in Barbados", "ASW": "African Ancestry in SW USA", "BEB": "Bengali in Bangladesh",
    "CDX": "Chinese Dai in Xishuangbanna", "CEU": "Utah residents with N. and W. European ancestry",
    "CHB": "Han Chinese in Beijing", "CHS": "Southern Han Chinese", "CLM": "Colombian in Medellín",
    "ESN": "Esan in Nigeria", "FIN": "Finnish in Finland", "GBR": "British in England and Scotland",
    "GIH": "Gujarati Indian in Houston", "GWD": "Gambian in Western Division", "IBS": "Iberian in Spain",
    "ITU": "Indian Telugu in the UK", "JPT": "Japanese in Tokyo", "KHV": "Kinh in Ho Chi Minh City",
    "LWK": "Luhya in Webuye, Kenya", "MSL": "Mende in Sierra Leone", "MXL": "Mexican Ancestry in Los Angeles",
    "PEL": "Peruvian in Lima", "PJL": "Punjabi in Lahore", "PUR": "Puerto Rican in Puerto Rico",
    "STU": "Sri Lankan Tamil in the UK", "TSI": "Toscani in Italia", "YRI": "Yoruba in Ibadan, Nigeria",
    "AFR": "African", "AMR": "Admixed American", "EAS": "East Asian", "EUR": "European", "SAS": "South Asian",
}  # fmt: skip
"""The 1000 Genomes populations and super-populations (the panel's labels, IGSR)."""

_SEXES = {"F": "female", "M": "male", "XX": "female", "XY": "male"}
_TOTALS = {"Total": "Everyone", "ALL": "Everyone", "F": "Female", "M": "Male"}


def split(code: str) -> tuple[str, str | None]:
    """The population and the sex (`female`, `male` or None) of a code such as `GB_F`, `F` or `Total`."""
    if code in ("F", "M"):
        return "Total", _SEXES[code]
    population, _, suffix = code.rpartition("_")
    if population and suffix in _SEXES:
        return population, _SEXES[suffix]
    return code, None


def population_name(code: str) -> str:
    """A readable name for a population code without its sex split (`GB` -> United Kingdom)."""
    if code in _TOTALS:
        return "Everyone" if code in ("Total", "ALL") else _TOTALS[code]
    return COUNTRIES.get(code.upper()) or PANEL_POPULATIONS.get(code.upper()) or code


def label(code: str) -> str:
    """A readable label for a frequency's population code, sex included (`GB_F` -> United Kingdom, female)."""
    if code in _TOTALS:
        return _TOTALS[code]
    population, sex = split(code)
    name = population_name(population)
    return f"{name}, {sex}" if sex else name
