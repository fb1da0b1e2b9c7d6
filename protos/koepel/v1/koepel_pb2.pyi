from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Statistic(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATISTIC_UNSPECIFIED: _ClassVar[Statistic]
    STATISTIC_COUNT: _ClassVar[Statistic]
    STATISTIC_SUM: _ClassVar[Statistic]
    STATISTIC_MEAN: _ClassVar[Statistic]
    STATISTIC_HISTOGRAM: _ClassVar[Statistic]

class NoiseKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NOISE_KIND_UNSPECIFIED: _ClassVar[NoiseKind]
    NOISE_KIND_DISCRETE_LAPLACE: _ClassVar[NoiseKind]
    NOISE_KIND_DISCRETE_GAUSSIAN: _ClassVar[NoiseKind]

class NodeOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NODE_OUTCOME_UNSPECIFIED: _ClassVar[NodeOutcome]
    NODE_OUTCOME_ANSWERED: _ClassVar[NodeOutcome]
    NODE_OUTCOME_UNAVAILABLE: _ClassVar[NodeOutcome]
    NODE_OUTCOME_DEADLINE_EXCEEDED: _ClassVar[NodeOutcome]
    NODE_OUTCOME_BUDGET_EXHAUSTED: _ClassVar[NodeOutcome]
    NODE_OUTCOME_REFUSED: _ClassVar[NodeOutcome]
    NODE_OUTCOME_INVALID: _ClassVar[NodeOutcome]
    NODE_OUTCOME_ERROR: _ClassVar[NodeOutcome]
    NODE_OUTCOME_CATALOGUE_VERSION: _ClassVar[NodeOutcome]
    NODE_OUTCOME_NOT_SHARED: _ClassVar[NodeOutcome]
STATISTIC_UNSPECIFIED: Statistic
STATISTIC_COUNT: Statistic
STATISTIC_SUM: Statistic
STATISTIC_MEAN: Statistic
STATISTIC_HISTOGRAM: Statistic
NOISE_KIND_UNSPECIFIED: NoiseKind
NOISE_KIND_DISCRETE_LAPLACE: NoiseKind
NOISE_KIND_DISCRETE_GAUSSIAN: NoiseKind
NODE_OUTCOME_UNSPECIFIED: NodeOutcome
NODE_OUTCOME_ANSWERED: NodeOutcome
NODE_OUTCOME_UNAVAILABLE: NodeOutcome
NODE_OUTCOME_DEADLINE_EXCEEDED: NodeOutcome
NODE_OUTCOME_BUDGET_EXHAUSTED: NodeOutcome
NODE_OUTCOME_REFUSED: NodeOutcome
NODE_OUTCOME_INVALID: NodeOutcome
NODE_OUTCOME_ERROR: NodeOutcome
NODE_OUTCOME_CATALOGUE_VERSION: NodeOutcome
NODE_OUTCOME_NOT_SHARED: NodeOutcome

class Filter(_message.Message):
    __slots__ = ("dimension", "values")
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    dimension: str
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, dimension: _Optional[str] = ..., values: _Optional[_Iterable[str]] = ...) -> None: ...

class QuerySpec(_message.Message):
    __slots__ = ("catalogue_version", "measure", "statistic", "group_by", "filters", "period", "epsilon")
    CATALOGUE_VERSION_FIELD_NUMBER: _ClassVar[int]
    MEASURE_FIELD_NUMBER: _ClassVar[int]
    STATISTIC_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    EPSILON_FIELD_NUMBER: _ClassVar[int]
    catalogue_version: str
    measure: str
    statistic: Statistic
    group_by: _containers.RepeatedScalarFieldContainer[str]
    filters: _containers.RepeatedCompositeFieldContainer[Filter]
    period: str
    epsilon: str
    def __init__(self, catalogue_version: _Optional[str] = ..., measure: _Optional[str] = ..., statistic: _Optional[_Union[Statistic, str]] = ..., group_by: _Optional[_Iterable[str]] = ..., filters: _Optional[_Iterable[_Union[Filter, _Mapping]]] = ..., period: _Optional[str] = ..., epsilon: _Optional[str] = ...) -> None: ...

class NoisyVector(_message.Message):
    __slots__ = ("values", "fixed_point_scale", "noise", "noise_scale", "noise_variance", "cost_micro_epsilon", "sensitivity", "cost_micro_units")
    VALUES_FIELD_NUMBER: _ClassVar[int]
    FIXED_POINT_SCALE_FIELD_NUMBER: _ClassVar[int]
    NOISE_FIELD_NUMBER: _ClassVar[int]
    NOISE_SCALE_FIELD_NUMBER: _ClassVar[int]
    NOISE_VARIANCE_FIELD_NUMBER: _ClassVar[int]
    COST_MICRO_EPSILON_FIELD_NUMBER: _ClassVar[int]
    SENSITIVITY_FIELD_NUMBER: _ClassVar[int]
    COST_MICRO_UNITS_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[int]
    fixed_point_scale: int
    noise: NoiseKind
    noise_scale: float
    noise_variance: float
    cost_micro_epsilon: int
    sensitivity: int
    cost_micro_units: int
    def __init__(self, values: _Optional[_Iterable[int]] = ..., fixed_point_scale: _Optional[int] = ..., noise: _Optional[_Union[NoiseKind, str]] = ..., noise_scale: _Optional[float] = ..., noise_variance: _Optional[float] = ..., cost_micro_epsilon: _Optional[int] = ..., sensitivity: _Optional[int] = ..., cost_micro_units: _Optional[int] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("payload", "signature", "public_key", "signing_certificate")
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    SIGNING_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    signature: bytes
    public_key: bytes
    signing_certificate: bytes
    def __init__(self, payload: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., public_key: _Optional[bytes] = ..., signing_certificate: _Optional[bytes] = ...) -> None: ...

class OperatorAttribution(_message.Message):
    __slots__ = ("payload", "signature", "certificate")
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    signature: bytes
    certificate: bytes
    def __init__(self, payload: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., certificate: _Optional[bytes] = ...) -> None: ...

class Cell(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, key: _Optional[_Iterable[str]] = ...) -> None: ...

class ReceiveSectorResultRequest(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: SectorResult
    def __init__(self, result: _Optional[_Union[SectorResult, _Mapping]] = ...) -> None: ...

class ReceiveSectorResultResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SecureEnrolRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SecureEnrolResponse(_message.Message):
    __slots__ = ("roster_entry",)
    ROSTER_ENTRY_FIELD_NUMBER: _ClassVar[int]
    roster_entry: bytes
    def __init__(self, roster_entry: _Optional[bytes] = ...) -> None: ...

class SecureRoundSpec(_message.Message):
    __slots__ = ("query_id", "spec", "params", "roster", "roster_signature", "aggregator_certificate", "honest_shares", "attribution")
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    ROSTER_FIELD_NUMBER: _ClassVar[int]
    ROSTER_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    AGGREGATOR_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    HONEST_SHARES_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    query_id: str
    spec: QuerySpec
    params: bytes
    roster: bytes
    roster_signature: bytes
    aggregator_certificate: bytes
    honest_shares: int
    attribution: OperatorAttribution
    def __init__(self, query_id: _Optional[str] = ..., spec: _Optional[_Union[QuerySpec, _Mapping]] = ..., params: _Optional[bytes] = ..., roster: _Optional[bytes] = ..., roster_signature: _Optional[bytes] = ..., aggregator_certificate: _Optional[bytes] = ..., honest_shares: _Optional[int] = ..., attribution: _Optional[_Union[OperatorAttribution, _Mapping]] = ...) -> None: ...

class SecureShareKeysRequest(_message.Message):
    __slots__ = ("round",)
    ROUND_FIELD_NUMBER: _ClassVar[int]
    round: SecureRoundSpec
    def __init__(self, round: _Optional[_Union[SecureRoundSpec, _Mapping]] = ...) -> None: ...

class SecureShareKeysResponse(_message.Message):
    __slots__ = ("key_shares",)
    KEY_SHARES_FIELD_NUMBER: _ClassVar[int]
    key_shares: bytes
    def __init__(self, key_shares: _Optional[bytes] = ...) -> None: ...

class SecureMaskRequest(_message.Message):
    __slots__ = ("round", "key_holders")
    ROUND_FIELD_NUMBER: _ClassVar[int]
    KEY_HOLDERS_FIELD_NUMBER: _ClassVar[int]
    round: SecureRoundSpec
    key_holders: bytes
    def __init__(self, round: _Optional[_Union[SecureRoundSpec, _Mapping]] = ..., key_holders: _Optional[bytes] = ...) -> None: ...

class SecureMaskResponse(_message.Message):
    __slots__ = ("masked_input", "cost_micro_units", "cost_micro_epsilon", "local_micro_units", "replayed")
    MASKED_INPUT_FIELD_NUMBER: _ClassVar[int]
    COST_MICRO_UNITS_FIELD_NUMBER: _ClassVar[int]
    COST_MICRO_EPSILON_FIELD_NUMBER: _ClassVar[int]
    LOCAL_MICRO_UNITS_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    masked_input: bytes
    cost_micro_units: int
    cost_micro_epsilon: int
    local_micro_units: int
    replayed: bool
    def __init__(self, masked_input: _Optional[bytes] = ..., cost_micro_units: _Optional[int] = ..., cost_micro_epsilon: _Optional[int] = ..., local_micro_units: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class SecureConsistencyRequest(_message.Message):
    __slots__ = ("query_id", "survivors", "key_holders")
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    SURVIVORS_FIELD_NUMBER: _ClassVar[int]
    KEY_HOLDERS_FIELD_NUMBER: _ClassVar[int]
    query_id: str
    survivors: _containers.RepeatedScalarFieldContainer[str]
    key_holders: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, query_id: _Optional[str] = ..., survivors: _Optional[_Iterable[str]] = ..., key_holders: _Optional[_Iterable[str]] = ...) -> None: ...

class SecureConsistencyResponse(_message.Message):
    __slots__ = ("signature",)
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    signature: bytes
    def __init__(self, signature: _Optional[bytes] = ...) -> None: ...

class SecureUnmaskRequest(_message.Message):
    __slots__ = ("query_id", "survivors", "consistency_signatures", "shares", "key_holders")
    class ConsistencySignaturesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    class SharesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    SURVIVORS_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    SHARES_FIELD_NUMBER: _ClassVar[int]
    KEY_HOLDERS_FIELD_NUMBER: _ClassVar[int]
    query_id: str
    survivors: _containers.RepeatedScalarFieldContainer[str]
    consistency_signatures: _containers.ScalarMap[str, bytes]
    shares: _containers.ScalarMap[str, bytes]
    key_holders: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, query_id: _Optional[str] = ..., survivors: _Optional[_Iterable[str]] = ..., consistency_signatures: _Optional[_Mapping[str, bytes]] = ..., shares: _Optional[_Mapping[str, bytes]] = ..., key_holders: _Optional[_Iterable[str]] = ...) -> None: ...

class SecureUnmaskResponse(_message.Message):
    __slots__ = ("unmask_reply",)
    UNMASK_REPLY_FIELD_NUMBER: _ClassVar[int]
    unmask_reply: bytes
    def __init__(self, unmask_reply: _Optional[bytes] = ...) -> None: ...

class DescribeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DescribeResponse(_message.Message):
    __slots__ = ("node_id", "organisation", "catalogue_versions", "software_version")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANISATION_FIELD_NUMBER: _ClassVar[int]
    CATALOGUE_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    SOFTWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    organisation: str
    catalogue_versions: _containers.RepeatedScalarFieldContainer[str]
    software_version: str
    def __init__(self, node_id: _Optional[str] = ..., organisation: _Optional[str] = ..., catalogue_versions: _Optional[_Iterable[str]] = ..., software_version: _Optional[str] = ...) -> None: ...

class QueryRequest(_message.Message):
    __slots__ = ("query_id", "spec", "attribution")
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    query_id: str
    spec: QuerySpec
    attribution: OperatorAttribution
    def __init__(self, query_id: _Optional[str] = ..., spec: _Optional[_Union[QuerySpec, _Mapping]] = ..., attribution: _Optional[_Union[OperatorAttribution, _Mapping]] = ...) -> None: ...

class QueryResponse(_message.Message):
    __slots__ = ("query_id", "node_id", "cells", "sum", "count", "clamp_lower", "clamp_upper", "cost_micro_epsilon", "replayed", "catalogue_version", "histogram", "bins", "bin_edges", "accounting", "delta", "cost_micro_units", "receipt", "clamped")
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    CELLS_FIELD_NUMBER: _ClassVar[int]
    SUM_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    CLAMP_LOWER_FIELD_NUMBER: _ClassVar[int]
    CLAMP_UPPER_FIELD_NUMBER: _ClassVar[int]
    COST_MICRO_EPSILON_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    CATALOGUE_VERSION_FIELD_NUMBER: _ClassVar[int]
    HISTOGRAM_FIELD_NUMBER: _ClassVar[int]
    BINS_FIELD_NUMBER: _ClassVar[int]
    BIN_EDGES_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTING_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    COST_MICRO_UNITS_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    CLAMPED_FIELD_NUMBER: _ClassVar[int]
    query_id: str
    node_id: str
    cells: _containers.RepeatedCompositeFieldContainer[Cell]
    sum: NoisyVector
    count: NoisyVector
    clamp_lower: float
    clamp_upper: float
    cost_micro_epsilon: int
    replayed: bool
    catalogue_version: str
    histogram: NoisyVector
    bins: _containers.RepeatedScalarFieldContainer[str]
    bin_edges: _containers.RepeatedScalarFieldContainer[float]
    accounting: str
    delta: str
    cost_micro_units: int
    receipt: Receipt
    clamped: NoisyVector
    def __init__(self, query_id: _Optional[str] = ..., node_id: _Optional[str] = ..., cells: _Optional[_Iterable[_Union[Cell, _Mapping]]] = ..., sum: _Optional[_Union[NoisyVector, _Mapping]] = ..., count: _Optional[_Union[NoisyVector, _Mapping]] = ..., clamp_lower: _Optional[float] = ..., clamp_upper: _Optional[float] = ..., cost_micro_epsilon: _Optional[int] = ..., replayed: _Optional[bool] = ..., catalogue_version: _Optional[str] = ..., histogram: _Optional[_Union[NoisyVector, _Mapping]] = ..., bins: _Optional[_Iterable[str]] = ..., bin_edges: _Optional[_Iterable[float]] = ..., accounting: _Optional[str] = ..., delta: _Optional[str] = ..., cost_micro_units: _Optional[int] = ..., receipt: _Optional[_Union[Receipt, _Mapping]] = ..., clamped: _Optional[_Union[NoisyVector, _Mapping]] = ...) -> None: ...

class BudgetRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BudgetLine(_message.Message):
    __slots__ = ("querier", "period", "cap_micro_epsilon", "spent_micro_epsilon", "scope", "unit", "cap_micro_units", "spent_micro_units", "remaining_micro_epsilon")
    QUERIER_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    CAP_MICRO_EPSILON_FIELD_NUMBER: _ClassVar[int]
    SPENT_MICRO_EPSILON_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    CAP_MICRO_UNITS_FIELD_NUMBER: _ClassVar[int]
    SPENT_MICRO_UNITS_FIELD_NUMBER: _ClassVar[int]
    REMAINING_MICRO_EPSILON_FIELD_NUMBER: _ClassVar[int]
    querier: str
    period: str
    cap_micro_epsilon: int
    spent_micro_epsilon: int
    scope: str
    unit: str
    cap_micro_units: int
    spent_micro_units: int
    remaining_micro_epsilon: int
    def __init__(self, querier: _Optional[str] = ..., period: _Optional[str] = ..., cap_micro_epsilon: _Optional[int] = ..., spent_micro_epsilon: _Optional[int] = ..., scope: _Optional[str] = ..., unit: _Optional[str] = ..., cap_micro_units: _Optional[int] = ..., spent_micro_units: _Optional[int] = ..., remaining_micro_epsilon: _Optional[int] = ...) -> None: ...

class BudgetResponse(_message.Message):
    __slots__ = ("lines",)
    LINES_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[BudgetLine]
    def __init__(self, lines: _Optional[_Iterable[_Union[BudgetLine, _Mapping]]] = ...) -> None: ...

class ExportLedgerRequest(_message.Message):
    __slots__ = ("after_sequence",)
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    after_sequence: int
    def __init__(self, after_sequence: _Optional[int] = ...) -> None: ...

class LedgerEntry(_message.Message):
    __slots__ = ("sequence", "created_at", "querier", "query_id", "query_digest", "mechanism", "cost_micro_epsilon", "budget_period", "catalogue_version", "previous_hash", "entry_hash", "unit", "noise", "operator", "operator_request")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    QUERIER_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_DIGEST_FIELD_NUMBER: _ClassVar[int]
    MECHANISM_FIELD_NUMBER: _ClassVar[int]
    COST_MICRO_EPSILON_FIELD_NUMBER: _ClassVar[int]
    BUDGET_PERIOD_FIELD_NUMBER: _ClassVar[int]
    CATALOGUE_VERSION_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_HASH_FIELD_NUMBER: _ClassVar[int]
    ENTRY_HASH_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    NOISE_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_REQUEST_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    created_at: str
    querier: str
    query_id: str
    query_digest: str
    mechanism: str
    cost_micro_epsilon: int
    budget_period: str
    catalogue_version: str
    previous_hash: str
    entry_hash: str
    unit: str
    noise: str
    operator: str
    operator_request: str
    def __init__(self, sequence: _Optional[int] = ..., created_at: _Optional[str] = ..., querier: _Optional[str] = ..., query_id: _Optional[str] = ..., query_digest: _Optional[str] = ..., mechanism: _Optional[str] = ..., cost_micro_epsilon: _Optional[int] = ..., budget_period: _Optional[str] = ..., catalogue_version: _Optional[str] = ..., previous_hash: _Optional[str] = ..., entry_hash: _Optional[str] = ..., unit: _Optional[str] = ..., noise: _Optional[str] = ..., operator: _Optional[str] = ..., operator_request: _Optional[str] = ...) -> None: ...

class ExportLedgerResponse(_message.Message):
    __slots__ = ("node_id", "entries", "public_key", "statement", "signature", "signing_certificate")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SIGNING_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    entries: _containers.RepeatedCompositeFieldContainer[LedgerEntry]
    public_key: bytes
    statement: bytes
    signature: bytes
    signing_certificate: bytes
    def __init__(self, node_id: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[LedgerEntry, _Mapping]]] = ..., public_key: _Optional[bytes] = ..., statement: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., signing_certificate: _Optional[bytes] = ...) -> None: ...

class PublishResultRequest(_message.Message):
    __slots__ = ("result_id", "node_ids", "deadline_seconds")
    RESULT_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_IDS_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    result_id: str
    node_ids: _containers.RepeatedScalarFieldContainer[str]
    deadline_seconds: float
    def __init__(self, result_id: _Optional[str] = ..., node_ids: _Optional[_Iterable[str]] = ..., deadline_seconds: _Optional[float] = ...) -> None: ...

class PublishResultResponse(_message.Message):
    __slots__ = ("result_id", "nodes")
    RESULT_ID_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    result_id: str
    nodes: _containers.RepeatedCompositeFieldContainer[NodeStatus]
    def __init__(self, result_id: _Optional[str] = ..., nodes: _Optional[_Iterable[_Union[NodeStatus, _Mapping]]] = ...) -> None: ...

class SubmitQueryRequest(_message.Message):
    __slots__ = ("spec", "deadline_seconds", "query_id", "aggregation", "attribution")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    AGGREGATION_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    spec: QuerySpec
    deadline_seconds: float
    query_id: str
    aggregation: str
    attribution: OperatorAttribution
    def __init__(self, spec: _Optional[_Union[QuerySpec, _Mapping]] = ..., deadline_seconds: _Optional[float] = ..., query_id: _Optional[str] = ..., aggregation: _Optional[str] = ..., attribution: _Optional[_Union[OperatorAttribution, _Mapping]] = ...) -> None: ...

class NodeStatus(_message.Message):
    __slots__ = ("node_id", "outcome", "reason", "cost_micro_epsilon", "attempts", "replayed", "catalogue_version", "elapsed_seconds", "receipt")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    COST_MICRO_EPSILON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    CATALOGUE_VERSION_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    outcome: NodeOutcome
    reason: str
    cost_micro_epsilon: int
    attempts: int
    replayed: bool
    catalogue_version: str
    elapsed_seconds: float
    receipt: bytes
    def __init__(self, node_id: _Optional[str] = ..., outcome: _Optional[_Union[NodeOutcome, str]] = ..., reason: _Optional[str] = ..., cost_micro_epsilon: _Optional[int] = ..., attempts: _Optional[int] = ..., replayed: _Optional[bool] = ..., catalogue_version: _Optional[str] = ..., elapsed_seconds: _Optional[float] = ..., receipt: _Optional[bytes] = ...) -> None: ...

class SectorCell(_message.Message):
    __slots__ = ("key", "estimate", "standard_error", "ci_lower", "ci_upper", "reliable", "sum_estimate", "count_estimate", "note", "raw_estimate", "raw_ci_lower", "raw_ci_upper", "clamped_share", "clamped_share_lower", "clamped_share_upper", "clamp_note")
    KEY_FIELD_NUMBER: _ClassVar[int]
    ESTIMATE_FIELD_NUMBER: _ClassVar[int]
    STANDARD_ERROR_FIELD_NUMBER: _ClassVar[int]
    CI_LOWER_FIELD_NUMBER: _ClassVar[int]
    CI_UPPER_FIELD_NUMBER: _ClassVar[int]
    RELIABLE_FIELD_NUMBER: _ClassVar[int]
    SUM_ESTIMATE_FIELD_NUMBER: _ClassVar[int]
    COUNT_ESTIMATE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    RAW_ESTIMATE_FIELD_NUMBER: _ClassVar[int]
    RAW_CI_LOWER_FIELD_NUMBER: _ClassVar[int]
    RAW_CI_UPPER_FIELD_NUMBER: _ClassVar[int]
    CLAMPED_SHARE_FIELD_NUMBER: _ClassVar[int]
    CLAMPED_SHARE_LOWER_FIELD_NUMBER: _ClassVar[int]
    CLAMPED_SHARE_UPPER_FIELD_NUMBER: _ClassVar[int]
    CLAMP_NOTE_FIELD_NUMBER: _ClassVar[int]
    key: _containers.RepeatedScalarFieldContainer[str]
    estimate: float
    standard_error: float
    ci_lower: float
    ci_upper: float
    reliable: bool
    sum_estimate: float
    count_estimate: float
    note: str
    raw_estimate: float
    raw_ci_lower: float
    raw_ci_upper: float
    clamped_share: float
    clamped_share_lower: float
    clamped_share_upper: float
    clamp_note: str
    def __init__(self, key: _Optional[_Iterable[str]] = ..., estimate: _Optional[float] = ..., standard_error: _Optional[float] = ..., ci_lower: _Optional[float] = ..., ci_upper: _Optional[float] = ..., reliable: _Optional[bool] = ..., sum_estimate: _Optional[float] = ..., count_estimate: _Optional[float] = ..., note: _Optional[str] = ..., raw_estimate: _Optional[float] = ..., raw_ci_lower: _Optional[float] = ..., raw_ci_upper: _Optional[float] = ..., clamped_share: _Optional[float] = ..., clamped_share_lower: _Optional[float] = ..., clamped_share_upper: _Optional[float] = ..., clamp_note: _Optional[str] = ...) -> None: ...

class QuantileEstimate(_message.Message):
    __slots__ = ("key", "probability", "estimate", "ci_lower", "ci_upper")
    KEY_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    ESTIMATE_FIELD_NUMBER: _ClassVar[int]
    CI_LOWER_FIELD_NUMBER: _ClassVar[int]
    CI_UPPER_FIELD_NUMBER: _ClassVar[int]
    key: _containers.RepeatedScalarFieldContainer[str]
    probability: float
    estimate: float
    ci_lower: float
    ci_upper: float
    def __init__(self, key: _Optional[_Iterable[str]] = ..., probability: _Optional[float] = ..., estimate: _Optional[float] = ..., ci_lower: _Optional[float] = ..., ci_upper: _Optional[float] = ...) -> None: ...

class SectorResult(_message.Message):
    __slots__ = ("result_id", "created_at", "spec", "group_by", "cells", "nodes", "complete", "query_id", "incomplete_reasons", "answered_node_share", "answered_size_share", "federation", "bin_edges", "quantiles", "aggregation")
    RESULT_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    CELLS_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    INCOMPLETE_REASONS_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_NODE_SHARE_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_SIZE_SHARE_FIELD_NUMBER: _ClassVar[int]
    FEDERATION_FIELD_NUMBER: _ClassVar[int]
    BIN_EDGES_FIELD_NUMBER: _ClassVar[int]
    QUANTILES_FIELD_NUMBER: _ClassVar[int]
    AGGREGATION_FIELD_NUMBER: _ClassVar[int]
    result_id: str
    created_at: str
    spec: QuerySpec
    group_by: _containers.RepeatedScalarFieldContainer[str]
    cells: _containers.RepeatedCompositeFieldContainer[SectorCell]
    nodes: _containers.RepeatedCompositeFieldContainer[NodeStatus]
    complete: bool
    query_id: str
    incomplete_reasons: _containers.RepeatedScalarFieldContainer[str]
    answered_node_share: float
    answered_size_share: float
    federation: str
    bin_edges: _containers.RepeatedScalarFieldContainer[float]
    quantiles: _containers.RepeatedCompositeFieldContainer[QuantileEstimate]
    aggregation: str
    def __init__(self, result_id: _Optional[str] = ..., created_at: _Optional[str] = ..., spec: _Optional[_Union[QuerySpec, _Mapping]] = ..., group_by: _Optional[_Iterable[str]] = ..., cells: _Optional[_Iterable[_Union[SectorCell, _Mapping]]] = ..., nodes: _Optional[_Iterable[_Union[NodeStatus, _Mapping]]] = ..., complete: _Optional[bool] = ..., query_id: _Optional[str] = ..., incomplete_reasons: _Optional[_Iterable[str]] = ..., answered_node_share: _Optional[float] = ..., answered_size_share: _Optional[float] = ..., federation: _Optional[str] = ..., bin_edges: _Optional[_Iterable[float]] = ..., quantiles: _Optional[_Iterable[_Union[QuantileEstimate, _Mapping]]] = ..., aggregation: _Optional[str] = ...) -> None: ...

class SubmitQueryResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: SectorResult
    def __init__(self, result: _Optional[_Union[SectorResult, _Mapping]] = ...) -> None: ...

class ListNodesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class NodeInfo(_message.Message):
    __slots__ = ("node_id", "address", "organisation", "reachable", "catalogue_versions", "reason", "budget", "certificate_identity", "region", "kind", "expected_size", "last_contact", "software_version")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ORGANISATION_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    CATALOGUE_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_SIZE_FIELD_NUMBER: _ClassVar[int]
    LAST_CONTACT_FIELD_NUMBER: _ClassVar[int]
    SOFTWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    address: str
    organisation: str
    reachable: bool
    catalogue_versions: _containers.RepeatedScalarFieldContainer[str]
    reason: str
    budget: _containers.RepeatedCompositeFieldContainer[BudgetLine]
    certificate_identity: str
    region: str
    kind: str
    expected_size: int
    last_contact: str
    software_version: str
    def __init__(self, node_id: _Optional[str] = ..., address: _Optional[str] = ..., organisation: _Optional[str] = ..., reachable: _Optional[bool] = ..., catalogue_versions: _Optional[_Iterable[str]] = ..., reason: _Optional[str] = ..., budget: _Optional[_Iterable[_Union[BudgetLine, _Mapping]]] = ..., certificate_identity: _Optional[str] = ..., region: _Optional[str] = ..., kind: _Optional[str] = ..., expected_size: _Optional[int] = ..., last_contact: _Optional[str] = ..., software_version: _Optional[str] = ...) -> None: ...

class ListNodesResponse(_message.Message):
    __slots__ = ("nodes", "federation", "catalogue_version", "aggregation")
    NODES_FIELD_NUMBER: _ClassVar[int]
    FEDERATION_FIELD_NUMBER: _ClassVar[int]
    CATALOGUE_VERSION_FIELD_NUMBER: _ClassVar[int]
    AGGREGATION_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[NodeInfo]
    federation: str
    catalogue_version: str
    aggregation: str
    def __init__(self, nodes: _Optional[_Iterable[_Union[NodeInfo, _Mapping]]] = ..., federation: _Optional[str] = ..., catalogue_version: _Optional[str] = ..., aggregation: _Optional[str] = ...) -> None: ...

class HistoryRequest(_message.Message):
    __slots__ = ("result_id", "limit", "include_receipts", "offset")
    RESULT_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    result_id: str
    limit: int
    include_receipts: bool
    offset: int
    def __init__(self, result_id: _Optional[str] = ..., limit: _Optional[int] = ..., include_receipts: _Optional[bool] = ..., offset: _Optional[int] = ...) -> None: ...

class HistoryResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SectorResult]
    def __init__(self, results: _Optional[_Iterable[_Union[SectorResult, _Mapping]]] = ...) -> None: ...

class PlanQueryRequest(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: QuerySpec
    def __init__(self, spec: _Optional[_Union[QuerySpec, _Mapping]] = ...) -> None: ...

class NodePlan(_message.Message):
    __slots__ = ("node_id", "expected", "reason", "cost_micro_units", "budget_known", "remaining_micro_units", "remaining_after_micro_units", "period")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    COST_MICRO_UNITS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_KNOWN_FIELD_NUMBER: _ClassVar[int]
    REMAINING_MICRO_UNITS_FIELD_NUMBER: _ClassVar[int]
    REMAINING_AFTER_MICRO_UNITS_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    expected: NodeOutcome
    reason: str
    cost_micro_units: int
    budget_known: bool
    remaining_micro_units: int
    remaining_after_micro_units: int
    period: str
    def __init__(self, node_id: _Optional[str] = ..., expected: _Optional[_Union[NodeOutcome, str]] = ..., reason: _Optional[str] = ..., cost_micro_units: _Optional[int] = ..., budget_known: _Optional[bool] = ..., remaining_micro_units: _Optional[int] = ..., remaining_after_micro_units: _Optional[int] = ..., period: _Optional[str] = ...) -> None: ...

class PlanQueryResponse(_message.Message):
    __slots__ = ("nodes", "cost_micro_units", "cells", "complete_expected", "incomplete_reasons", "accounting", "delta", "expected_se_per_node", "expected_se_secure", "expected_se_central")
    NODES_FIELD_NUMBER: _ClassVar[int]
    COST_MICRO_UNITS_FIELD_NUMBER: _ClassVar[int]
    CELLS_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_EXPECTED_FIELD_NUMBER: _ClassVar[int]
    INCOMPLETE_REASONS_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTING_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_SE_PER_NODE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_SE_SECURE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_SE_CENTRAL_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[NodePlan]
    cost_micro_units: int
    cells: int
    complete_expected: bool
    incomplete_reasons: _containers.RepeatedScalarFieldContainer[str]
    accounting: str
    delta: str
    expected_se_per_node: float
    expected_se_secure: float
    expected_se_central: float
    def __init__(self, nodes: _Optional[_Iterable[_Union[NodePlan, _Mapping]]] = ..., cost_micro_units: _Optional[int] = ..., cells: _Optional[int] = ..., complete_expected: _Optional[bool] = ..., incomplete_reasons: _Optional[_Iterable[str]] = ..., accounting: _Optional[str] = ..., delta: _Optional[str] = ..., expected_se_per_node: _Optional[float] = ..., expected_se_secure: _Optional[float] = ..., expected_se_central: _Optional[float] = ...) -> None: ...
