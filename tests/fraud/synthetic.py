"""A synthetic brand's month of scans: honest shoppers and the rings the fraud rules must catch.

Each persona says what it is and what the rules should conclude about it (``EXPECTED``): the
rings' subjects must reach the review band, no honest subject may. Deterministic (seeded).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from fraud.rules import Facts, ForgedFact, ScanFact

START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
CITIES = {
    "上海市": ("上海市", 31.23, 121.47), "北京市": ("北京市", 39.90, 116.40),
    "广州市": ("广东省", 23.13, 113.26), "成都市": ("四川省", 30.66, 104.07),
    "杭州市": ("浙江省", 30.27, 120.16), "武汉市": ("湖北省", 30.59, 114.31),
}  # fmt: skip


def cash_running(at: datetime) -> bool:
    """The brand runs cash campaigns on weekends only: about 2/7 of the time."""
    return at.weekday() >= 5


@dataclass
class World:
    """The scans being built and the truth about each subject."""

    rng: random.Random = field(default_factory=lambda: random.Random(20261130))
    scans: list[ScanFact] = field(default_factory=list)
    forged: list[ForgedFact] = field(default_factory=list)
    bad: set[tuple[str, str]] = field(default_factory=set)  # subjects that must be flagged
    honest: set[tuple[str, str]] = field(default_factory=set)  # subjects that must not be
    next_serial: dict[str, int] = field(default_factory=dict)
    n: int = 0

    def serial(self, batch: str) -> int:
        """A fresh serial of ``batch``."""
        self.next_serial[batch] = self.next_serial.get(batch, 0) + 1
        return self.next_serial[batch]

    def scan(self, at: datetime, consumer: str | None, device: str | None, ip: str, city: str,
             batch: str = "batch-main", serial: int | None = None,
             verdict: str = "authentic") -> ScanFact:  # fmt: skip
        """Record one scan."""
        self.n += 1
        province, lat, lng = CITIES[city]
        jitter = self.rng.uniform(-0.03, 0.03)
        fact = ScanFact(
            f"scan-{self.n}",
            at,
            batch,
            serial if serial is not None else self.serial(batch),
            verdict,
            consumer,
            device,
            ip,
            lat + jitter,
            lng + jitter,
            province,
            city,
            cash_running(at),
        )
        self.scans.append(fact)
        return fact

    def facts(self) -> Facts:
        """The facts as ``fraud.facts`` would load them."""
        share = sum(s.cash_campaign for s in self.scans) / len(self.scans)
        return Facts(self.scans, self.forged, {"batch-export": ["广东省"]},
                     {"batch-main": 100_000, "batch-leaked": 500}, share)  # fmt: skip


def _day(world: World) -> datetime:
    return START + timedelta(days=world.rng.randrange(28), hours=world.rng.uniform(0, 12))


def honest_shoppers(world: World, count: int = 60) -> None:
    """Shoppers with their own phone, one to four products a month, mostly in their city."""
    for i in range(count):
        consumer, device, ip = f"shopper-{i}", f"phone-{i}", f"10.0.{i // 200}.{i % 200}"
        city = world.rng.choice(list(CITIES))
        for _ in range(world.rng.randint(1, 4)):
            world.scan(_day(world), consumer, device, ip, city)
        world.honest |= {("consumer", consumer), ("device", device), ("ip", ip)}


def honest_rescanner(world: World) -> None:
    """Checks the same bottle again and again over two days."""
    serial = world.serial("batch-main")
    for k in range(8):
        world.scan(
            START + timedelta(hours=6 * k),
            "rescanner",
            "rescanner-phone",
            "10.1.0.1",
            "杭州市",
            serial=serial,
            verdict="authentic" if k == 0 else "authentic_repeat",
        )
    world.honest |= {("consumer", "rescanner"), ("device", "rescanner-phone")}


def case_buyer(world: World) -> None:
    """Bought a case of twelve and scanned every bottle at once (honest, and below the ceiling
    of ``batch_harvest``)."""
    at = START + timedelta(days=5, hours=3)
    for k in range(12):
        world.scan(at + timedelta(seconds=40 * k), "case-buyer", "case-phone", "10.1.0.2", "武汉市")
    world.honest |= {("consumer", "case-buyer"), ("device", "case-phone")}


def family(world: World) -> None:
    """Three accounts on one shared phone at home."""
    for member in ("mum", "dad", "grandma"):
        for _ in range(3):
            world.scan(_day(world), f"family-{member}", "family-phone", "10.2.0.1", "成都市")
        world.honest.add(("consumer", f"family-{member}"))
    world.honest |= {("device", "family-phone"), ("ip", "10.2.0.1")}


def traveller(world: World) -> None:
    """Scans in Shanghai, flies to Beijing (1,070 km in 3 hours), then on to Guangzhou."""
    at = START + timedelta(days=9)
    for city, hours in (("上海市", 0), ("北京市", 3), ("广州市", 27)):
        world.scan(at + timedelta(hours=hours), "traveller", "traveller-phone", "10.3.0.1", city)
    world.honest |= {("consumer", "traveller"), ("device", "traveller-phone")}


def device_farm(world: World) -> None:
    """Twenty accounts on five phones behind one address, all within an hour."""
    at = START + timedelta(days=12, hours=2)
    for i in range(20):
        device = f"farm-phone-{i % 5}"
        for k in range(3):
            world.scan(at + timedelta(minutes=3 * i + k), f"farm-{i}", device, "203.0.113.7",
                       "广州市")  # fmt: skip
    world.bad |= {("device", f"farm-phone-{d}") for d in range(5)} | {("ip", "203.0.113.7")}


def harvester(world: World) -> None:
    """Cashes in a bought pack: sixty codes of one batch in twenty minutes."""
    at = START + timedelta(days=15, hours=1)
    for k in range(60):
        world.scan(at + timedelta(seconds=20 * k), "harvester", "harvester-phone", "198.51.100.4",
                   "上海市", batch="batch-main")  # fmt: skip
    world.bad.add(("consumer", "harvester"))


def leaked_batch(world: World) -> None:
    """A leaked pack: thirty codes of one batch each scanned by two or three different people."""
    for serial in range(1, 31):
        for k in range(world.rng.randint(2, 3)):
            who = f"leak-victim-{serial}-{k}"
            world.scan(_day(world), who, f"{who}-phone", f"10.9.{serial}.{k}", "北京市",
                       batch="batch-leaked", serial=serial,
                       verdict="authentic" if k == 0 else "suspect_copy")  # fmt: skip
            world.honest.add(("consumer", who))
    world.bad.add(("code_batch", "batch-leaked"))


def cash_only_account(world: World) -> None:
    """Scans only on cash-campaign weekends, eight times this month."""
    weekends = [
        START + timedelta(days=d) for d in range(28) if (START + timedelta(days=d)).weekday() >= 5
    ]
    for day in weekends[:8]:
        world.scan(
            day + timedelta(hours=2), "cash-hunter", "hunter-phone", "198.51.100.9", "上海市"
        )
    world.bad.add(("consumer", "cash-hunter"))


def forged_script(world: World) -> None:
    """A script trying forty made-up codes in five minutes."""
    at = START + timedelta(days=20, hours=4)
    for k in range(40):
        world.forged.append(ForgedFact(at + timedelta(seconds=7 * k), ip="192.0.2.66"))
    world.bad.add(("ip", "192.0.2.66"))


PERSONAS = (honest_shoppers, honest_rescanner, case_buyer, family, traveller, device_farm,
            harvester, leaked_batch, cash_only_account, forged_script)  # fmt: skip


def build() -> World:
    """The whole month."""
    world = World()
    for persona in PERSONAS:
        persona(world)
    return world


def subjects(world: World) -> Iterator[tuple[str, str]]:
    """Every subject with a known truth."""
    yield from sorted(world.bad | world.honest)
