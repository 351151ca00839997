"""A realistic synthetic panel for trying the workbench: no real people, fixed seed.

``build_demo`` writes 40 Inclusive Leader nominations, 6 judges of distinct severity, some
conflicts of interest, three judges per nomination, and a few strong disagreements. Every
score is given; two of the lay member's scoresheets are left unsubmitted so they can be edited.

>>> from workbench.demo import nomination_text
>>> import random
>>> len(nomination_text(random.Random(1), quality=4).split()) > 120
True
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from workbench.panel import add_judge, add_nomination, create_round
from workbench.rubric import load_rubric
from workbench.scoring import record_score, submit_assignment
from workbench.store import Assignment, Round, database_url, describe_url, session_scope

DEMO_SEED = 2026
DEMO_ROUND = "Inclusive Leader 2026 (demo)"

FIRST = ["Amara", "Tomasz", "Priya", "Kwame", "Siobhán", "Mehmet", "Li", "Fatima", "Gareth", "Chiamaka", "Rhiannon",
         "Yusuf", "Marta", "Dev", "Aoife", "Olu", "Hannah", "Ravi", "Nia", "Jakub", "Leila", "Callum", "Ife", "Sunita",
         "Bronwen", "Tariq", "Elif", "Morgan", "Ngozi", "Ewan", "Zainab", "Mateus", "Kirsty", "Hamza", "Ayesha",
         "Rory", "Grace", "Tendai", "Isla", "Bilal"]
LAST = ["Okafor", "Nowak", "Raman", "Mensah", "Ní Bhriain", "Yılmaz", "Chen", "Haddad", "Pritchard", "Eze",
        "Llewellyn", "Abdi", "Kowalczyk", "Patel", "Byrne", "Adeyemi", "Fairweather", "Sharma", "Rees", "Dvořák",
        "Hosseini", "MacLeod", "Balogun", "Gill", "Morgan", "Iqbal", "Demir", "Quinn", "Obi", "Fraser",
        "Rahman", "Silva", "Campbell", "Akhtar", "Khan", "Doyle", "Asante", "Moyo", "Grant", "Malik"]
ORGANISATIONS = ["Northshire NHS Foundation Trust", "Riverside Community Health NHS Trust",
                 "Eastmoor Mental Health NHS Foundation Trust", "Kingsbridge and Wold Integrated Care Board",
                 "Harbourside Adult Social Care", "West Fellham Hospitals NHS Trust",
                 "Greyfriars Children's Services", "Lowmoor Primary Care Network"]
ROLES = ["Ward Manager", "Head of Midwifery", "Consultant Physiotherapist", "Practice Manager",
         "Registered Manager", "Deputy Director of Nursing", "Team Leader, Community Mental Health",
         "Clinical Lead for Stroke", "Head of Workforce Development", "Service Manager, Reablement",
         "Senior Occupational Therapist", "Lead Pharmacist"]
TEAMS = ["the Maternity Voices team", "the Reablement at Home team", "the Acute Frailty Unit",
         "the Community Diabetes team", "the Learning Disability Liaison team"]
PROGRAMMES = ["Step Up", "Reciprocal Mentoring", "Inclusive Recruitment Panels", "Proud to Care",
              "Voices Heard", "Fair Start", "Safe Space Conversations", "Cultural Ambassadors"]
COMMUNITIES = ["the Somali community in Eastmoor", "Gypsy, Roma and Traveller families", "older LGBTQ+ residents",
               "people with learning disabilities", "the Polish-speaking community", "deaf BSL users",
               "young carers", "asylum seekers at the Harbour Road hotel", "Bangladeshi women over 50"]

Q1_STRONG = [
    "{name} set up a co-production group with {community} and rebuilt the {service} referral route with them; "
    "missed appointments fell from {before}% to {after}% within a year.",
    "Working with local faith leaders and the {community_short} forum, {name} redesigned how {service} is "
    "offered, including evening clinics and interpreters booked by default.",
    "Uptake of {service} among {community} rose by {pct}% after {name} took the service out to community venues "
    "that people already trusted.",
    "{name} insisted every commissioning decision for {service} carried an equality impact assessment written "
    "with service users, not about them, and three contracts were changed as a result.",
    "The health inequalities audit {name} led showed a {pct}% gap in {service} uptake between the most and least "
    "deprived wards; eighteen months later the gap has halved.",
]
Q1_WEAK = [
    "{name} always thinks about the community when planning services.",
    "They are passionate about reducing health inequalities in our area.",
    "{name} has attended several meetings about {service} and contributes well.",
    "They care about patients from all backgrounds and it shows in their work.",
]
Q2_STRONG = [
    "{name} launched the '{programme}' campaign across the directorate, reaching {count} staff; the follow-up "
    "survey showed {pct}% felt more confident challenging discriminatory remarks.",
    "When a patient made racist comments to a healthcare assistant, {name} stepped in, supported the colleague, "
    "and then ran a team debrief so everyone knew what to do next time.",
    "{name} runs monthly 'lunch and learn' sessions on difference, from neurodiversity to religious festivals, "
    "and invites colleagues to lead them from their own experience.",
    "They called out an exclusionary rota practice that disadvantaged staff with caring responsibilities and "
    "worked with HR to change it; grievances on rotas dropped from {before} to {after} a year.",
    "{name} co-led Disability History Month events and secured reasonable adjustments passports for {count} staff.",
]
Q2_WEAK = [
    "{name} believes in equality and treats everyone the same.",
    "They support diversity and celebrate events when they come up.",
    "{name} is a great role model and people look up to them.",
    "They are very positive about inclusion and always happy to help.",
]
Q3_STRONG = [
    "In the last staff survey, {pct}% of {name}'s team said they could raise concerns safely, up from {before}% "
    "two years ago and well above the trust average.",
    "{name} introduced anonymous 'what would you change?' cards and reports back every month on what was done, "
    "so people see their feedback acted on.",
    "Two healthcare assistants from overseas were supported by {name} onto the nursing apprenticeship; one told "
    "us she 'finally felt someone saw my potential'.",
    "Exit interviews in the service used to mention feeling like an outsider; since {name} took over, turnover "
    "fell from {before}% to {after}%.",
    "{name} rotates who chairs team meetings, including bank and agency colleagues, so quieter voices lead.",
]
Q3_WEAK = [
    "Everyone likes working with {name}.",
    "The team is friendly and welcoming.",
    "{name} has an open door policy.",
    "People feel included in the team.",
]
Q4_STRONG = [
    "{name} chairs the {network} staff network and took its members' concerns to the board, which agreed {count} "
    "actions and now reviews progress every quarter.",
    "They reverse-mentor a director through the '{programme}' scheme, and the director has since sponsored "
    "inclusive recruitment panels for every band 7 and above post.",
    "Patients and carers describe {name} as 'the person who makes sure we are heard'; the patient experience team "
    "received {count} compliments naming them last year.",
    "{name} persuaded the executive team to publish ethnicity and disability pay gap figures for the first time "
    "and to set targets for closing them.",
    "Beyond the trust, {name} speaks at regional events and has helped {count} other organisations set up "
    "similar networks.",
]
Q4_WEAK = [
    "{name} goes above and beyond every day.",
    "They are a true ambassador for inclusion.",
    "{name} is visible and approachable.",
    "Senior leaders know who {name} is.",
]
SERVICES = ["antenatal care", "diabetes education", "the memory clinic", "cervical screening",
            "talking therapies", "falls prevention", "childhood immunisations", "the stroke rehabilitation pathway"]
NETWORKS = ["Race Equality", "Disability and Neurodiversity", "LGBTQ+", "Women's", "Faith and Belief", "Carers"]
POOLS = {"Q1": (Q1_STRONG, Q1_WEAK), "Q2": (Q2_STRONG, Q2_WEAK), "Q3": (Q3_STRONG, Q3_WEAK),
         "Q4": (Q4_STRONG, Q4_WEAK)}

#: (name, organisation, severity in score points): negative is harsh, positive is lenient.
JUDGES = [
    ("Dr Helen Marsh", "Northshire NHS Trust", -0.9),
    ("Samuel Achterberg", "Independent lay member", 0.0),
    ("Rukhsana Begum", "Kingsbridge and Wold Integrated Care Board", 0.3),
    ("Prof. Ian Tremayne", "University of Wold", 0.8),
    ("Grace Oyelaran-Smith", "Harbourside Council", -0.3),
    ("Owain Pryce", "Lowmoor PCN", 0.5),
]
EQUALITY_OPTIONS = {
    "race": ["White British", "White other", "Black British", "Asian British", "Mixed", "Prefer not to say"],
    "disability": ["No", "No", "No", "Yes", "Prefer not to say"],
    "sex": ["Female", "Female", "Male", "Prefer not to say"],
    "sexual-orientation": ["Heterosexual", "Heterosexual", "Heterosexual", "Gay or lesbian", "Bisexual",
                           "Prefer not to say"],
    "age": ["25-34", "35-44", "45-54", "55-64"],
}


def _fill(template: str, rng: random.Random, name: str) -> str:
    before = rng.randint(18, 40)
    community = rng.choice(COMMUNITIES)
    return template.format(
        name=name, community=community, community_short=community.split(" in ")[0].replace("the ", ""),
        service=rng.choice(SERVICES), before=before, after=rng.randint(4, before - 3), pct=rng.randint(12, 61),
        count=rng.choice([14, 23, 40, 65, 120, 300, 850]), programme=rng.choice(PROGRAMMES),
        network=rng.choice(NETWORKS),
    )


def answer_text(rng: random.Random, criterion: str, quality: float, name: str) -> str:
    """An answer whose specificity follows ``quality`` (0-5)."""
    strong, weak = POOLS[criterion]
    n_strong = max(0, min(len(strong), round(quality * 0.8 + rng.uniform(-0.6, 0.6))))
    n_weak = max(1 if n_strong == 0 else 0, round((5 - quality) * 0.5 + rng.uniform(0, 1)))
    sentences = rng.sample(strong, n_strong) + rng.sample(weak, min(n_weak, len(weak)))
    rng.shuffle(sentences)
    return " ".join(_fill(s, rng, name) for s in sentences)


def nomination_text(rng: random.Random, quality: float, name: str = "Sam") -> str:
    return "\n\n".join(answer_text(rng, q, quality, name) for q in POOLS)


@dataclass
class DemoSummary:
    url: str
    round_name: str
    nominations: int
    judges: int
    conflicts: int
    scores: int
    disagreements: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return (f"Demo panel '{self.round_name}' in {describe_url(self.url)}: {self.nominations} nominations, "
                f"{self.judges} judges, {self.conflicts} conflicts of interest, {self.scores} scores; strong "
                f"disagreements on {', '.join(self.disagreements)}.")


def build_demo(*, url: str | None = None, seed: int = DEMO_SEED, nominations: int = 40) -> DemoSummary:
    """Create the demo round in the database (refused if it already exists there)."""
    from workbench.allocation import allocate
    from workbench.conflicts import detect_conflicts

    url = database_url(url)
    rng = random.Random(seed)
    rubric = load_rubric("inclusive-leader")
    start = datetime(2026, 9, 1, 9, 0, tzinfo=timezone.utc)
    with session_scope(url) as s:
        round_ = create_round(s, name=DEMO_ROUND, rubric=rubric, judges_per_nomination=3, blind=True,
                              show_panel_after_submit=True)
        judges = [add_judge(s, name=n, email=f"judge{i + 1}@demo.example", organisation=o)
                  for i, (n, o, _) in enumerate(JUDGES)]
        qualities = {}
        people = rng.sample([(f, last) for f in FIRST for last in LAST], nominations)
        for i, (first, last) in enumerate(people):
            quality = min(5.0, max(0.3, rng.gauss(2.8, 1.1)))
            is_team = i % 9 == 4
            name = rng.choice(TEAMS) if is_team else f"{first} {last}"
            short = "The team" if is_team else first
            nominator = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            answers = {c: answer_text(rng, c, min(5, max(0, quality + rng.uniform(-0.7, 0.7))), short)
                       for c in rubric.criterion_ids}
            nominee = {"name": name, "email": "" if is_team else f"{first}.{last}@nhs.example".lower()
                       .replace(" ", "").replace("í", "i").replace("ı", "i").replace("ř", "r").replace("á", "a"),
                       "job_title": "" if is_team else rng.choice(ROLES),
                       "organisation": rng.choice(ORGANISATIONS), "team": name if is_team else "",
                       "nominator_name": nominator,
                       "nominator_email": f"{nominator.split()[0].lower()}@nhs.example"}
            if i == 7:  # a judge nominated someone: detected as a conflict
                nominee["nominator_name"], nominee["nominator_email"] = judges[3].name, judges[3].email
            equality = {k: rng.choice(v) for k, v in EQUALITY_OPTIONS.items()}
            nomination = add_nomination(
                s, round_=round_, source_key=f"demo-{i + 1}", answers=answers, nominee=nominee, equality=equality,
                submitted_at=start + timedelta(hours=7 * i + rng.randint(0, 6)), source_row=i + 2,
            )
            qualities[nomination.id] = quality
        conflicts = detect_conflicts(s, round_=round_)
        allocate(s, round_=round_, seed=seed)
        severity = {j.id: sev for j, (_, _, sev) in zip(judges, JUDGES)}
        assignments = s.scalars(select(Assignment).where(Assignment.round_id == round_.id)
                                .order_by(Assignment.nomination_id, Assignment.judge_id)).all()
        by_nomination: dict[int, list[Assignment]] = {}
        for a in assignments:
            by_nomination.setdefault(a.nomination_id, []).append(a)
        disagree = sorted(rng.sample(sorted(by_nomination), 4))
        # Leave the lay member's last two scoresheets open, so the demo has something to edit.
        lay = judges[1].id
        keep_open = {(lay, a.nomination_id) for a in assignments if a.judge_id == lay}
        keep_open = set(sorted(keep_open)[-2:])
        scores = 0
        for nomination_id, group in by_nomination.items():
            for position, a in enumerate(group):
                for c in rubric.criterion_ids:
                    value = qualities[nomination_id] + severity[a.judge_id] + rng.gauss(0, 0.55)
                    if nomination_id in disagree and position == 0:
                        value += 3 if qualities[nomination_id] < 2.5 else -3
                    record_score(s, round_=round_, judge_id=a.judge_id, nomination_id=nomination_id,
                                 criterion_id=c, value=int(min(5, max(0, round(value)))),
                                 comment="" if rng.random() < 0.6 else rng.choice(
                                     ["Clear evidence of impact.", "Would like more figures.",
                                      "Strong on community work.", "Mostly assertion, few examples.",
                                      "Good staff survey evidence."]),
                                 actor="demo", source="demo", check_rubric_file=False)
                    scores += 1
                if (a.judge_id, nomination_id) not in keep_open:
                    submit_assignment(s, round_=round_, judge_id=a.judge_id, nomination_id=nomination_id)
        references = {n.id: n.reference for n in round_.nominations}
        return DemoSummary(url=url, round_name=round_.name, nominations=len(qualities), judges=len(judges),
                           conflicts=len(conflicts), scores=scores,
                           disagreements=[references[n] for n in disagree])


def demo_exists(url: str | None = None) -> bool:
    with session_scope(url) as s:
        return s.scalar(select(Round).where(Round.name == DEMO_ROUND)) is not None

