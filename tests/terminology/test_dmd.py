"""dm+d from the organisation's own XML release: VTM, VMP, AMP and the BNF/ATC bonus file (issue 10, item 1).

The fixtures follow the NHSBSA dm+d XML schemas (vtm_v2_3.xsd, vmp_v2_3.xsd, amp_v2_3.xsd and the
bonus BNF file): root elements, record elements and field names as the release has them, including
sections the loader must skip (ingredients, routes) whose records repeat the same id fields.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from careweave.cli import app
from careweave.terminology.dmd import Classification, DmdRelease, Vtm, load_dmd
from careweave.terminology.models import DMD
from careweave.terminology.releases import dmd_codes
from careweave.terminology.sctid import mint_concept_id
from careweave.terminology.store import ReleaseError, Store

NS = 1000001  # dm+d's namespace
ATORVASTATIN, ADENOSINE, OLD_VTM = (mint_concept_id(i, NS) for i in (701, 702, 703))
ATORVA_20, ATORVA_40, ATORVA_40_OLD, ADENOSINE_VIALS, SWAB = (
    mint_concept_id(i, NS) for i in (801, 802, 803, 804, 805)
)
LIPITOR_20, AAH_ATORVA_20, ADENOCOR = (mint_concept_id(i, NS) for i in (901, 902, 903))
HEADER = '<?xml version="1.0" encoding="utf-8"?>\n'


def _xml(root: str, body: str, schema: str) -> str:
    return (
        f'{HEADER}<{root} xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:noNamespaceSchemaLocation="{schema}">\n{body}\n</{root}>\n'
    )


def release(folder: Path, *, bonus: bool = True, vmp_vtm: str = ATORVASTATIN) -> list[Path]:
    main = folder / "nhsbsa_dmd_9.1.0_20240930000001"
    main.mkdir(parents=True)
    (main / "f_vtm2_3300924.xml").write_text(
        _xml(
            "VIRTUAL_THERAPEUTIC_MOIETIES",
            f"""
  <VTM><VTMID>{ATORVASTATIN}</VTMID><NM>Atorvastatin</NM></VTM>
  <VTM><VTMID>{ADENOSINE}</VTMID><NM>Adenosine</NM><VTMIDPREV>{OLD_VTM}</VTMIDPREV><VTMIDDT>2010-01-01</VTMIDDT></VTM>
  <VTM><VTMID>{OLD_VTM}</VTMID><INVALID>1</INVALID><NM>Adenosine (old)</NM></VTM>""",
            "vtm_v2_3.xsd",
        ),
        encoding="utf-8",
    )
    (main / "f_vmp2_3300924.xml").write_text(
        _xml(
            "VIRTUAL_MED_PRODUCTS",
            f"""
  <VMPS>
    <VMP><VPID>{ATORVA_20}</VPID><VTMID>{vmp_vtm}</VTMID><NM>Atorvastatin 20mg tablets</NM><BASISCD>0001</BASISCD><PRES_STATCD>0001</PRES_STATCD></VMP>
    <VMP><VPID>{ATORVA_40}</VPID><VPIDDT>2015-06-01</VPIDDT><VPIDPREV>{ATORVA_40_OLD}</VPIDPREV><VTMID>{ATORVASTATIN}</VTMID><NM>Atorvastatin 40mg tablets</NM><BASISCD>0001</BASISCD><PRES_STATCD>0001</PRES_STATCD></VMP>
    <VMP><VPID>{ADENOSINE_VIALS}</VPID><VTMID>{ADENOSINE}</VTMID><NM>Adenosine 6mg/2ml solution for injection vials</NM><BASISCD>0001</BASISCD><PRES_STATCD>0001</PRES_STATCD></VMP>
    <VMP><VPID>{SWAB}</VPID><NM>Gauze swabs 10cm x 10cm</NM><BASISCD>0003</BASISCD><PRES_STATCD>0001</PRES_STATCD></VMP>
  </VMPS>
  <VIRTUAL_PRODUCT_INGREDIENT>
    <VPI><VPID>{ATORVA_20}</VPID><ISID>1000001000001109</ISID></VPI>
  </VIRTUAL_PRODUCT_INGREDIENT>
  <ONT_DRUG_FORM/><DRUG_FORM/><DRUG_ROUTE/><CONTROL_DRUG_INFO/>""",
            "vmp_v2_3.xsd",
        ),
        encoding="utf-8",
    )
    (main / "f_amp2_3300924.xml").write_text(
        _xml(
            "ACTUAL_MEDICINAL_PRODUCTS",
            f"""
  <AMPS>
    <AMP><APID>{LIPITOR_20}</APID><VPID>{ATORVA_20}</VPID><NM>Lipitor 20mg tablets</NM><DESC>Lipitor 20mg tablets (Upjohn UK Ltd)</DESC><SUPPCD>3144701000001104</SUPPCD><LIC_AUTHCD>0001</LIC_AUTHCD><AVAIL_RESTRICTCD>0001</AVAIL_RESTRICTCD></AMP>
    <AMP><APID>{AAH_ATORVA_20}</APID><INVALID>1</INVALID><VPID>{ATORVA_20}</VPID><NM>Atorvastatin 20mg tablets</NM><DESC>Atorvastatin 20mg tablets (A A H Pharmaceuticals Ltd)</DESC><SUPPCD>3144701000001104</SUPPCD><LIC_AUTHCD>0001</LIC_AUTHCD><AVAIL_RESTRICTCD>0001</AVAIL_RESTRICTCD></AMP>
    <AMP><APID>{ADENOCOR}</APID><VPID>{ADENOSINE_VIALS}</VPID><NM>Adenocor 6mg/2ml solution for injection vials</NM><DESC>Adenocor 6mg/2ml solution for injection vials (Sanofi)</DESC><SUPPCD>9190711000001101</SUPPCD><LIC_AUTHCD>0001</LIC_AUTHCD><AVAIL_RESTRICTCD>0008</AVAIL_RESTRICTCD></AMP>
  </AMPS>
  <AP_INGREDIENT><AP_ING><APID>{LIPITOR_20}</APID><ISID>13668001</ISID></AP_ING></AP_INGREDIENT>
  <LICENSED_ROUTE><LIC_ROUTE><APID>{ADENOCOR}</APID><ROUTECD>47625008</ROUTECD></LIC_ROUTE></LICENSED_ROUTE>
  <AP_INFORMATION/>""",
            "amp_v2_3.xsd",
        ),
        encoding="utf-8",
    )
    paths = [main]
    if bonus:
        extra = folder / "nhsbsa_dmdbonus_9.1.0_20240930000001" / "BNF"
        extra.mkdir(parents=True)
        (extra / "f_bnf1_0300924.xml").write_text(
            _xml(
                "BNF_DETAILS",
                f"""
  <VMPS>
    <VMP><VPID>{ATORVA_20}</VPID><BNF>0212000B0AAABAB</BNF><ATC>C10AA05</ATC><DDD>20.0</DDD><DDD_UOMCD>258684004</DDD_UOMCD></VMP>
    <VMP><VPID>{ADENOSINE_VIALS}</VPID><BNF>0203020A0AAAAAA</BNF><ATC>C01EB10</ATC></VMP>
  </VMPS>
  <AMPS>
    <AMP><APID>{LIPITOR_20}</APID><BNF>0212000B0BBABAB</BNF></AMP>
  </AMPS>""",
                "bnf_v1_0.xsd",
            ),
            encoding="utf-8",
        )
        paths.append(extra.parent)
    return paths


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


def _loaded(store: Store) -> DmdRelease:
    loaded = DmdRelease.current(store)
    assert loaded is not None
    return loaded


def test_products_reach_their_ingredient_through_the_vmp(tmp_path: Path, store: Store) -> None:
    manifest = load_dmd(release(tmp_path), store=store)
    assert manifest["release_id"] == "dmd_3300924"
    assert manifest["counts"] == {
        "vtm": 3,
        "vmp": 4,
        "amp": 3,
        "vmp_with_vtm": 3,
        "vmp_with_bnf": 2,
        "vmp_with_atc": 2,
        "amp_with_bnf": 1,
    }
    dmd = _loaded(store)
    assert dmd.ingredient(LIPITOR_20) == Vtm(ATORVASTATIN, "Atorvastatin")  # AMP -> VMP -> VTM
    assert dmd.ingredient(ATORVA_40) == Vtm(ATORVASTATIN, "Atorvastatin")
    assert dmd.ingredient(ATORVA_40_OLD) == Vtm(
        ATORVASTATIN, "Atorvastatin"
    )  # a previous VPID in old records
    assert dmd.ingredient(ADENOCOR) == Vtm(ADENOSINE, "Adenosine")
    assert dmd.ingredient(SWAB) is None
    assert dmd.ingredient("12345009") is None
    assert dmd.products([ATORVASTATIN]) == {ATORVA_20, ATORVA_40, LIPITOR_20, AAH_ATORVA_20}


def test_bnf_and_atc_come_from_the_bonus_file(tmp_path: Path, store: Store) -> None:
    load_dmd(release(tmp_path), store=store)
    dmd = _loaded(store)
    assert dmd.classification(LIPITOR_20) == Classification("0212000B0BBABAB", "C10AA05")
    assert dmd.classification(AAH_ATORVA_20) == Classification("0212000B0AAABAB", "C10AA05")  # its VMP's
    assert dmd.classification(ATORVA_40) == Classification(None, None)
    assert dmd.with_atc_prefix("C10AA") == {ATORVA_20, LIPITOR_20, AAH_ATORVA_20}
    assert dmd.with_bnf_prefix("0203") == {ADENOSINE_VIALS, ADENOCOR}


def test_without_the_bonus_file_there_are_no_codes_but_the_load_works(tmp_path: Path, store: Store) -> None:
    manifest = load_dmd(release(tmp_path, bonus=False), store=store)
    assert manifest["bnf_atc"] is False
    assert _loaded(store).classification(LIPITOR_20) == Classification(None, None)


def test_medicine_class_codes_widen_to_every_product_of_the_ingredient(tmp_path: Path, store: Store) -> None:
    codes = frozenset({(DMD, ATORVA_20)})
    assert dmd_codes(codes, store=store).codes == codes  # no release: as bundled
    load_dmd(release(tmp_path), store=store)
    widened = dmd_codes(codes, store=store)
    assert widened.release_id == "dmd_3300924"
    assert widened.codes == {
        (DMD, c) for c in (ATORVASTATIN, ATORVA_20, ATORVA_40, LIPITOR_20, AAH_ATORVA_20)
    }


def test_a_dangling_reference_names_the_record(tmp_path: Path, store: Store) -> None:
    unknown = mint_concept_id(799, NS)
    with pytest.raises(ReleaseError) as raised:
        load_dmd(release(tmp_path, vmp_vtm=unknown), store=store)
    assert (
        "VMPS/VMP[1]" in str(raised.value)
        and raised.value.field == "VTMID"
        and "f_vmp2_3300924.xml" in str(raised.value)
    )
    assert store.current("dmd") is None


def test_bad_xml_missing_fields_and_missing_files_are_refused(tmp_path: Path, store: Store) -> None:
    paths = release(tmp_path / "a")
    vmp = paths[0] / "f_vmp2_3300924.xml"
    vmp.write_text(vmp.read_text().replace("</VMPS>", "</VMP>", 1))
    with pytest.raises(ReleaseError) as raised:
        load_dmd(paths, store=store)
    assert "not well-formed" in str(raised.value) and raised.value.line is not None
    paths = release(tmp_path / "b")
    amp = paths[0] / "f_amp2_3300924.xml"
    amp.write_text(amp.read_text().replace(f"<VPID>{ADENOSINE_VIALS}</VPID>", "", 1))
    with pytest.raises(ReleaseError, match=r"AMPS/AMP\[3\] has no VPID"):
        load_dmd(paths, store=store)
    paths = release(tmp_path / "c")
    (paths[0] / "f_amp2_3300924.xml").unlink()
    with pytest.raises(ReleaseError, match="no f_amp2"):
        load_dmd(paths, store=store)
    paths = release(tmp_path / "d")
    vtm = paths[0] / "f_vtm2_3300924.xml"
    vtm.write_text(vtm.read_text().replace("VIRTUAL_THERAPEUTIC_MOIETIES", "SOMETHING_ELSE"))
    with pytest.raises(ReleaseError, match="expected VIRTUAL_THERAPEUTIC_MOIETIES"):
        load_dmd(paths, store=store)


def test_cli_load_dmd(tmp_path: Path) -> None:
    env = {"CAREWEAVE_TERMINOLOGY_DIR": str(tmp_path / "store")}
    paths = [str(p) for p in release(tmp_path / "r")]
    result = CliRunner().invoke(app, ["terminology", "load-dmd", *paths, "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["amp"] == 3
    result = CliRunner().invoke(app, ["terminology", "load-dmd", str(tmp_path / "nothing")], env=env)
    assert result.exit_code == 2 and "no such file" in result.output and "Traceback" not in result.output
