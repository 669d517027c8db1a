"""The entry types this beacon serves, their endpoints and their relations (one declared list)."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from beacon.query.granularity import Granularity
from beacon.query.variants import G_VARIANT_PARAMETERS

SPEC_VERSION = "Beacon v2.2.0"
SCHEMA_BASE = "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/models/json/beacon-v2-default-model"

LINK_FIELDS = MappingProxyType({"individuals": "individualId", "biosamples": "biosampleId", "runs": "runId"})
"""The field by which a record names the record of another entity it belongs to (a run's `biosampleId`)."""


@dataclass(frozen=True)
class Relation:
    """A related endpoint `/{parent}/{id}/{child}` returning another entry type."""

    name: str  # key in /map, e.g. "individualLookup"
    child: str  # path of the returned entry type, e.g. "individuals"


@dataclass(frozen=True)
class EntryType:
    """One Beacon entry type: its spec names, its endpoint path and its store entity."""

    id: str
    name: str
    path: str
    model: str
    description: str
    ontology_term: tuple[str, str]
    is_collection: bool = False
    relations: tuple[Relation, ...] = ()
    max_granularity: Granularity = Granularity.RECORD
    # Query parameters (GET) / requestParameters (POST) this entry type accepts beyond the common ones.
    request_parameters: tuple[str, ...] = ()

    @property
    def schema_reference(self) -> dict[str, str]:
        """The `defaultSchema` block of `/configuration` and `returnedSchemas`."""
        return {
            "id": f"ga4gh-beacon-{self.id}-v2.0.0",
            "name": f"Default schema for {self.name.lower()}",
            "referenceToSchemaDefinition": f"{SCHEMA_BASE}/{self.model}/defaultSchema.json",
            "schemaVersion": "v2.0.0",
        }

    @property
    def returned_schema(self) -> dict[str, str]:
        """One item of `meta.returnedSchemas`."""
        return {"entityType": self.id, "schema": self.schema_reference["id"]}


DATASETS = EntryType(
    id="dataset",
    name="Dataset",
    path="datasets",
    model="datasets",
    description="A Dataset is a collection of records, like rows in a database or cards in a cardholder.",
    ontology_term=("NCIT:C47824", "Data set"),
    is_collection=True,
    relations=(
        Relation("individualLookup", "individuals"),
        Relation("biosampleLookup", "biosamples"),
        Relation("genomicVariantLookup", "g_variants"),
    ),
)
COHORTS = EntryType(
    id="cohort",
    name="Cohort",
    path="cohorts",
    model="cohorts",
    description="A cohort available in the beacon.",
    ontology_term=("NCIT:C61512", "Cohort"),
    is_collection=True,
    relations=(Relation("individualLookup", "individuals"), Relation("biosampleLookup", "biosamples")),
)
INDIVIDUALS = EntryType(
    id="individual",
    name="Individual",
    path="individuals",
    model="individuals",
    description="A human being. It could be a Patient, a Tissue Donor, a Participant, a Human Study Subject, etc.",
    ontology_term=("NCIT:C25190", "Person"),
    request_parameters=G_VARIANT_PARAMETERS,  # individuals carrying a variant (beacon.query.carriers)
    relations=(Relation("biosampleLookup", "biosamples"), Relation("genomicVariantLookup", "g_variants")),
)
BIOSAMPLES = EntryType(
    id="biosample",
    name="Biological Sample",
    path="biosamples",
    model="biosamples",
    description="Any material sample taken from a biological entity for testing, diagnostic, propagation, "
    "treatment or research purposes.",
    ontology_term=("NCIT:C70699", "Biospecimen"),
    request_parameters=G_VARIANT_PARAMETERS,  # biosamples carrying a variant (beacon.query.carriers)
    relations=(
        Relation("analysisLookup", "analyses"),
        Relation("genomicVariantLookup", "g_variants"),
        Relation("runLookup", "runs"),
    ),
)
RUNS = EntryType(
    id="run",
    name="Sequencing run",
    path="runs",
    model="runs",
    description="The valid and completed operation of a high-throughput sequencing instrument for a single "
    "sequencing process.",
    ontology_term=("NCIT:C148088", "Sequencing run"),
    relations=(Relation("analysisLookup", "analyses"), Relation("genomicVariantLookup", "g_variants")),
)
ANALYSES = EntryType(
    id="analysis",
    name="Bioinformatics analysis",
    path="analyses",
    model="analyses",
    description="Apply analytical methods to existing data of a specific type.",
    ontology_term=("edam:operation_2945", "Analysis"),
    relations=(Relation("genomicVariantLookup", "g_variants"),),
)

G_VARIANTS = EntryType(
    id="genomicVariant",
    name="Genomic Variants",
    path="g_variants",
    model="genomicVariations",
    description="The location of a sequence variation in the genome, its alleles and their frequencies.",
    ontology_term=("ENSGLOSSARY:0000092", "Variant"),
    relations=(Relation("biosampleLookup", "biosamples"), Relation("individualLookup", "individuals")),
    request_parameters=G_VARIANT_PARAMETERS,
)

ENTRY_TYPES: tuple[EntryType, ...] = (DATASETS, COHORTS, INDIVIDUALS, BIOSAMPLES, G_VARIANTS, RUNS, ANALYSES)


@dataclass(frozen=True)
class EntryTypeRegistry:
    """The entry types one app serves, looked up by endpoint path."""

    entry_types: tuple[EntryType, ...] = ENTRY_TYPES

    def by_path(self, path: str) -> EntryType:
        """The entry type served at `/api/{path}`."""
        for entry_type in self.entry_types:
            if entry_type.path == path:
                return entry_type
        raise KeyError(path)

    def relations(self, parent: EntryType) -> tuple[Relation, ...]:
        """The parent's relations whose child entry type this app serves."""
        served = {entry_type.path for entry_type in self.entry_types}
        return tuple(relation for relation in parent.relations if relation.child in served)
