"""The next best question, and when to stop asking.

Each candidate question (a single finding, or a group of findings asked together) is scored by

    score = expected information gain about the diagnosis (bits)
          + TRIAGE_WEIGHT * expected reduction of the triage loss (value of information)

Both terms are computed for all candidates at once from the current posterior (NumPy, no loop per
finding). The second term is what brings red-flag questions forward: a 'yes' that would fire a
red-flag rule changes the triage decision, so it is worth asking early whenever the differential
makes it plausible. A red flag must be connected to what the person reported, through its rule or
through conditions that explain it; otherwise it is not screened for at its background rate (see
``score_questions``). The interview stops when no question scores above ``min_score``, or at the
question limit. docs/model.md explains the criterion and its approximations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from curbside.engine.inference import Answer, Evidence
from curbside.engine.kb.schema import GroupType
from curbside.engine.model import BoolArray, FloatArray, IntArray, Model
from curbside.engine.triage import LOSS, fired_rules

TRIAGE_WEIGHT = 0.5
#: Conditions below this posterior are left out of the question scoring (not of the posterior):
#: they cannot change which question is best, and dropping them keeps a step fast on large models.
ACTIVE_MIN = 1e-4
#: At most this many conditions (the most probable) take part in scoring a question.
MAX_ACTIVE = 120
#: A multiple-choice group is worth its best member plus this share of the others (their
#: information overlaps, and one screen with several options costs the person more than one).
GROUP_OVERLAP_DISCOUNT = 0.5

QuestionType = Literal["single", "group_single", "group_multiple"]


@dataclass(frozen=True)
class QuestionItem:
    finding_id: str
    text: str  # the finding's own yes/no question, or its short name inside a group


@dataclass(frozen=True)
class Question:
    type: QuestionType
    text: str
    items: tuple[QuestionItem, ...]
    group_id: str | None = None
    information_gain: float = 0.0
    triage_value: float = 0.0

    @property
    def finding_ids(self) -> tuple[str, ...]:
        return tuple(item.finding_id for item in self.items)

    @property
    def score(self) -> float:
        return self.information_gain + TRIAGE_WEIGHT * self.triage_value


@dataclass(frozen=True)
class InterviewSettings:
    """When to stop: a question must score above ``min_score * (1 + asked / patience)``.

    The bar rises as the interview gets longer: every extra question costs the person more
    patience, so late questions must be worth more than early ones.
    """

    max_questions: int = 30
    min_score: float = 0.05
    patience: float = 10.0
    min_questions: int = 0

    def threshold(self, asked: int) -> float:
        return self.min_score * (1.0 + asked / self.patience)


@dataclass
class _Candidates:
    singles: list[int] = field(default_factory=list)
    groups: list[tuple[int, list[int]]] = field(default_factory=list)  # (group index, members)


def _xlogx(values: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = values * np.log(values)
    out[values <= 0] = 0.0
    result: FloatArray = out
    return result


def _applicable_mask(model: Model, age: float, sex: str, answered: BoolArray,
                     present: BoolArray) -> BoolArray:
    """[F]: findings that may be asked now (not answered, right sex and age, requirements met)."""
    mask = ~answered & (model.finding_min_age <= age) & (age <= model.finding_max_age)
    mask &= model.finding_sex_mask(sex)
    for fi in model.findings_with_requirements:
        if mask[fi] and not all(present[r] for r in model.finding_requires[fi]):
            mask[fi] = False
    result: BoolArray = mask
    return result


def _candidates(model: Model, askable: BoolArray, relevant: BoolArray,
                present: BoolArray) -> _Candidates:
    out = _Candidates()
    alone = askable & relevant & (model.group_of_finding < 0)
    out.singles.extend(int(i) for i in np.flatnonzero(alone))
    for gi, group in enumerate(model.groups):
        members = [m for m in group.members if askable[m]]
        if not members or not any(relevant[m] for m in members):
            continue
        if group.type is GroupType.single and any(present[m] for m in group.members):
            continue  # a single-choice group is settled once one option is known
        if len(members) >= 2 or group.type is GroupType.multiple:
            out.groups.append((gi, members))
        else:
            out.singles.append(members[0])
    return out


def score_questions(model: Model, age: float, sex: str, evidence: Evidence,
                    probabilities: FloatArray, limit: int | None = None) -> list[Question]:
    """Candidate questions with their scores, best first (the best ``limit`` of them)."""
    n_findings = len(model.finding_ids)
    answered = np.zeros(n_findings, dtype=bool)
    answered[[model.finding_index[f] for f, _ in evidence.answers]] = True
    present_mask = np.zeros(n_findings, dtype=bool)
    present_mask[[model.finding_index[f] for f in evidence.present]] = True
    floor = max((r.level.rank for r in fired_rules(model, age, sex, evidence)), default=0)
    # A red flag is connected to the complaint when a 'yes' would complete a rule that names
    # something already reported (chest pain, then sweating): the rule itself says why to ask.
    yes_floor_all, yes_floor_begun = model.rules.yes_floors_connected(present_mask, age, sex, floor)
    connected = yes_floor_begun > floor
    screening = (yes_floor_all > floor) & ~connected

    active = np.flatnonzero(probabilities >= ACTIVE_MIN)
    if active.size > MAX_ACTIVE:
        active = active[np.argsort(-probabilities[active])[:MAX_ACTIVE]]
    listed = model.listed[active]
    # A finding that no active condition lists has the same (background) probability under all
    # of them: it carries no information. A red flag is still worth asking when its rule is
    # connected to the complaint; an unconnected one only through the conditions that list it.
    relevant = listed.any(axis=0) | connected
    askable = _applicable_mask(model, age, sex, answered, present_mask)
    candidates = _candidates(model, askable, relevant, present_mask)
    if not candidates.singles and not candidates.groups:
        return []
    post = probabilities[active] / probabilities[active].sum()
    likelihood = model.likelihood[active]
    background = model.background
    true_levels = model.triage_rank[active]
    # [levels, Ca, A]: loss of each action for each active condition, true level raised to a floor
    loss_by_floor = np.stack([LOSS[:, np.maximum(true_levels, f)].T for f in range(LOSS.shape[0])])
    n_actions = LOSS.shape[0]
    action_rank = np.arange(n_actions)
    entropy = -float(_xlogx(post).sum())

    def masked(expected: FloatArray, levels: IntArray) -> FloatArray:
        return np.where(action_rank[None, :] < levels[:, None], np.inf, expected)

    def single_scores(indices: IntArray) -> tuple[FloatArray, FloatArray]:
        p_yes_c = likelihood[:, indices]  # [Ca, K]
        joint_yes = post[:, None] * p_yes_c
        joint_no = post[:, None] - joint_yes
        p_yes = joint_yes.sum(axis=0)
        p_no = 1.0 - p_yes
        gain = (entropy + _xlogx(joint_yes).sum(axis=0) - _xlogx(p_yes)
                + _xlogx(joint_no).sum(axis=0) - _xlogx(p_no))
        # For an unconnected red flag, a condition that does not make it more likely than the
        # background rate says 'yes' at most at the complaint leak: someone with breathlessness or
        # a swelling throat opens with that, not with a night cramp. Without this, every emergency
        # anywhere is worth screening for (background x under-triage loss), whatever the complaint.
        explains = listed[:, indices] & (p_yes_c > background[indices])
        p_screen = np.where(explains | ~screening[indices], p_yes_c,
                            np.minimum(p_yes_c, model.leak[indices]))
        joint_yes = post[:, None] * p_screen
        joint_no = post[:, None] - joint_yes
        yes_levels = yes_floor_all[indices]
        no_levels = np.full(indices.size, floor, dtype=np.int64)
        loss_yes = np.empty((indices.size, n_actions))
        for level in np.unique(yes_levels):  # at most five distinct floors
            ks = yes_levels == level
            loss_yes[ks] = joint_yes[:, ks].T @ loss_by_floor[level]
        loss_no = joint_no.T @ loss_by_floor[floor]
        before = masked(loss_yes + loss_no, no_levels).min(axis=1)
        after = masked(loss_yes, yes_levels).min(axis=1) + masked(loss_no, no_levels).min(axis=1)
        return np.maximum(gain, 0.0), np.maximum(before - after, 0.0)

    # Score every yes/no finding once (singles and members of multiple-choice groups together).
    multiple = [(gi, m) for gi, m in candidates.groups
                if model.groups[gi].type is GroupType.multiple]
    scored = np.array(candidates.singles + [i for _, m in multiple for i in m], dtype=np.int64)
    gains, values = single_scores(scored) if scored.size else (np.empty(0), np.empty(0))
    position = {int(fi): k for k, fi in enumerate(scored)}

    # Scores first, as arrays; Question objects only for the ones returned.
    single_index = np.array([position[fi] for fi in candidates.singles], dtype=np.int64)
    group_scores: list[tuple[float, float]] = []
    for gi, members in candidates.groups:
        if model.groups[gi].type is GroupType.single:
            group_scores.append(_single_choice_score(
                likelihood[:, members], post, entropy, loss_by_floor[floor], floor, action_rank))
        else:
            ks = [position[m] for m in members]
            g, v = gains[ks], values[ks]
            group_scores.append((
                float(g.max() + GROUP_OVERLAP_DISCOUNT * (g.sum() - g.max())),
                float(v.max() + GROUP_OVERLAP_DISCOUNT * (v.sum() - v.max())),
            ))
    all_gains = np.concatenate([gains[single_index], [g for g, _ in group_scores]])
    all_values = np.concatenate([values[single_index], [v for _, v in group_scores]])
    order = np.argsort(-(all_gains + TRIAGE_WEIGHT * all_values), kind="stable")
    if limit is not None:
        order = order[:limit]

    questions: list[Question] = []
    n_singles = len(candidates.singles)
    for k in order:
        gain, value = float(all_gains[k]), float(all_values[k])
        if k < n_singles:
            finding = model.kb.findings[model.finding_ids[candidates.singles[k]]]
            questions.append(Question(
                type="single", text=finding.question,
                items=(QuestionItem(finding.id, finding.question),),
                information_gain=gain, triage_value=value,
            ))
            continue
        gi, members = candidates.groups[k - n_singles]
        group = model.groups[gi]
        questions.append(Question(
            type="group_single" if group.type is GroupType.single else "group_multiple",
            text=group.question,
            items=tuple(QuestionItem(model.finding_ids[m],
                                     model.kb.findings[model.finding_ids[m]].name)
                        for m in members),
            group_id=group.id, information_gain=gain, triage_value=value,
        ))
    return questions


def _single_choice_score(option_p: FloatArray, post: FloatArray, entropy: float,
                         loss: FloatArray, floor: int,
                         action_rank: IntArray) -> tuple[float, float]:
    """Exact gain for mutually exclusive options: P(option | c) is renormalised over the options."""
    weights = option_p / option_p.sum(axis=1, keepdims=True)
    joint = post[:, None] * weights  # [Ca, m]
    p_option = joint.sum(axis=0)
    gain = entropy + float(_xlogx(joint).sum()) - float(_xlogx(p_option).sum())
    expected = joint.T @ loss  # [m, A]
    expected[:, action_rank < floor] = np.inf
    before = float((post @ loss)[action_rank >= floor].min())
    after = float(expected.min(axis=1).sum())
    return max(gain, 0.0), max(before - after, 0.0)


def next_question(model: Model, age: float, sex: str, evidence: Evidence,
                  probabilities: FloatArray, asked: int,
                  settings: InterviewSettings | None = None) -> Question | None:
    """The question to ask now, or None when the interview should stop."""
    settings = settings or InterviewSettings()
    if asked >= settings.max_questions:
        return None
    questions = score_questions(model, age, sex, evidence, probabilities, limit=1)
    if not questions:
        return None
    best = questions[0]
    if best.score < settings.threshold(asked) and asked >= settings.min_questions:
        return None
    return best


def answers_for(question: Question, chosen: dict[str, Answer]) -> list[tuple[str, Answer]]:
    """Complete a question's answers: in a single-choice group, one 'present' option makes the
    other options absent."""
    result = [(f, chosen.get(f, Answer.unknown)) for f in question.finding_ids]
    if question.type == "group_single" and any(a is Answer.present for _, a in result):
        result = [(f, a if a is Answer.present else Answer.absent) for f, a in result]
    return result
