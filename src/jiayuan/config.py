"""Settings read from the environment (prefix JIAYUAN_), one object per process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "change-me-dev-only-secret"  # noqa: S105 - refused in production


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIAYUAN_", extra="ignore")

    database_url: str = "sqlite:///var/jiayuan.db"
    # Figures and dashboards read from here when set (a streaming replica); see docs/operations.md.
    replica_database_url: str | None = None
    secret_key: str = DEFAULT_SECRET
    production: bool = False
    var_dir: Path = Path("var")
    # Where `npm ci` put the front-end libraries (Leaflet, HTMX, ECharts).
    node_modules: Path = Path("node_modules")
    # Base-map tiles; empty means no base map (polygons still draw). Tianditu or an intranet server work too.
    tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    tile_attribution: str = "© OpenStreetMap"
    default_locale: str = "zh_CN"
    token_ttl_seconds: int = Field(default=8 * 3600, gt=0)
    session_max_age_seconds: int = Field(default=12 * 3600, gt=0)
    session_idle_seconds: int = Field(default=2 * 3600, gt=0)
    # Staff accounts must sign in with a TOTP code as well (China's MLPS 2.0 level 3 asks for two factors).
    require_totp_for_staff: bool = False
    # Sign-in throttling (accounts/throttling.py; every attempt is counted before its password or code is checked,
    # a right one is taken back). One account from one address: this many failures per window of
    # signin_lock_minutes, and per day; then that address waits for the window's end (others do not).
    signin_failures_per_address: int = Field(default=5, ge=1)
    signin_lock_minutes: int = Field(default=15, ge=1, le=24 * 60)
    signin_failures_per_address_day: int = Field(default=20, ge=1)
    # One address, every account (password spraying): failures per hour.
    signin_failures_per_source_hour: int = Field(default=30, ge=1)
    # One account, every address (a guess from many machines): failures per hour. Past it only the addresses the
    # account signed in from within signin_known_address_days may still try: the owner is slowed at most for the
    # hour on a new address, never locked out on their usual one.
    signin_failures_per_account_hour: int = Field(default=20, ge=1)
    signin_known_address_days: int = Field(default=30, ge=1)
    # Case tracking by number and phone without an account: look-ups that find nothing, per address and hour.
    track_misses_per_source_hour: int = Field(default=10, ge=1)
    # Text messages to a phone typed into an anonymous or resident's report (web, API, Open311) that has not
    # proven it is reachable: reports a day that may text one number, and that one address (or one Open311
    # client) may make text anyone. Past them the report is accepted but sends no SMS (notify/limits.py).
    sms_unproven_per_number_day: int = Field(default=3, ge=0)
    sms_unproven_per_source_day: int = Field(default=10, ge=0)
    sms_unproven_per_client_day: int = Field(default=200, ge=0)
    timezone: str = "Asia/Shanghai"
    # The background worker: "sqlite" keeps the queue in var/, "redis" uses redis_url.
    queue_backend: str = "sqlite"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Who sends outbox messages, as "module:attr" (a class made without arguments, or an object with
    # send(message)); the default only logs a masked line, so nothing leaves the machine until one is set.
    sms_sender: str = "jiayuan.notify.senders:LogSender"
    email_sender: str = "jiayuan.notify.senders:LogSender"
    log_level: str = "INFO"
    # Uploaded files (case photos): on disk under var_dir/uploads unless a bucket is named, then in that
    # S3-compatible store (AWS, MinIO, Aliyun OSS, Tencent COS through s3_endpoint_url). Without keys boto3
    # falls back to its usual chain (environment, instance role).
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    # boto3 uses path-style URLs with a custom endpoint; Aliyun OSS and Tencent COS need "virtual".
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    max_photo_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    max_photos: int = Field(default=3, ge=0)
    # Request bodies (kit/bodies.py): what any route takes (forms, JSON); a route that takes photos takes
    # max_photos × max_photo_bytes more, each photo at most max_photo_bytes; a route that takes a file to import
    # (registry spreadsheets, the holiday calendar, units GeoJSON) max_import_bytes more, the file at most that.
    # A body over its route's limit is refused with 413 as soon as it passes it, the rest never read.
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    max_import_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    # Spreadsheet imports (kit/excel.py): data rows of one file; the unzipped size of an .xlsx part (the sheet,
    # read as it streams) and of its shared strings (held in memory while the sheet is read).
    max_import_rows: int = Field(default=300_000, gt=0)
    max_import_unzipped_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    max_import_strings_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    # An import of more data rows than this runs in the worker (its progress on the import's page); fewer run in
    # the request. Either way rows are parsed and checked before anything is written, then written a thousand
    # at a time, each thousand in a short transaction of its own.
    import_worker_rows: int = Field(default=2_000, ge=0)
    # Personal data at rest (kit.crypto): "id:base64key,..." of 32-byte AES keys, the first encrypts and
    # the rest only decrypt (rotation); the blind-index key is separate so rotating data keys keeps look-ups.
    # Unset in development: both are derived from secret_key. Production refuses to start without them.
    data_keys: str | None = None
    index_key: str | None = None
    # Service orders (12343): how long a provider has to accept an offer before the next one is asked.
    order_offer_minutes: int = Field(default=15, gt=0)
    # A provider whose mean rating over the period falls under this (with at least `provider_min_ratings`
    # ratings) is flagged for the district to consider suspending it.
    provider_rating_threshold: float = Field(default=3.5, ge=1, le=5)
    provider_min_ratings: int = Field(default=5, ge=1)
    # A subsidised centre counts as open as required when it opened on at least this share of its scheduled days.
    centre_required_open_share: float = Field(default=0.9, gt=0, le=1)
    # Neighbourhood care: days without a visit before someone living alone raises an alert.
    care_visit_days: int = Field(default=7, gt=0)
    # A visit may be logged at most this many days after it happened (a visit logged later is refused), and
    # one volunteer's visits of one local day add up to at most this many hours (docs/care.md).
    care_visit_backdate_days: int = Field(default=7, ge=0, le=366)
    care_visit_day_hours: int = Field(default=12, ge=1, le=24)
    # Charity supermarket points given for one whole hour of volunteer service converted.
    points_per_hour: int = Field(default=10, ge=0)
    # Exact look-ups of people by ID number or phone (and registrations refused because the ID number is held
    # elsewhere in the district) that find no one: this many within the window lock the account's look-ups until the
    # window ends, and the district's administrators are told (registry/people/lookups.py).
    person_lookup_misses: int = Field(default=5, ge=1)
    person_lookup_window_seconds: int = Field(default=3600, ge=60)
    # The district rule: whole hours one volunteer may convert into points in a calendar month (Beijing time);
    # a conversion beyond it is refused (docs/charity.md).
    points_hours_per_month: int = Field(default=20, ge=1, le=744)

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.production and self.secret_key == DEFAULT_SECRET:
            raise ValueError("JIAYUAN_SECRET_KEY: set a secret key of your own before running in production")
        if self.production and len(self.secret_key) < 32:
            raise ValueError("JIAYUAN_SECRET_KEY: must be at least 32 characters in production")
        # Keys derived from the secret in development would tie every record to it: production names its own.
        if self.production and not (self.data_keys or "").strip():
            raise ValueError("JIAYUAN_DATA_KEYS: set the personal-data keys before running in production")
        if self.production and not (self.index_key or "").strip():
            raise ValueError("JIAYUAN_INDEX_KEY: set the blind-index key before running in production")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
