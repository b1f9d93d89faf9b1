"""The words of CareWeave's standard letters and messages, in plain English (reading age 9 to 11,
checked by tests/contact/test_letters.py with the Flesch-Kincaid formula), in easy read (short lines,
one idea each, pictures described in words), and in Welsh where we have a translation.

Each text is a list of blocks: ("p", text), ("h", heading), ("picture", what the picture shows),
("list", [items]). `{name}`-style fields are filled from the letter's details; a field no letter
has is an error, caught by the tests.
"""

from __future__ import annotations

from typing import Final

Block = tuple[str, str | list[str]]

PURPOSES: Final = ("review-invitation", "appointment-reminder", "results-letter", "care-plan-copy")
TITLES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "review-invitation": "Please book your health review",
        "appointment-reminder": "A reminder about your appointment",
        "results-letter": "Your test results",
        "care-plan-copy": "Your care and support plan",
    },
    "cy": {
        "review-invitation": "Trefnwch eich adolygiad iechyd",
        "appointment-reminder": "Nodyn atgoffa am eich apwyntiad",
        "results-letter": "Canlyniadau eich profion",
        "care-plan-copy": "Eich cynllun gofal a chymorth",
    },
}

STANDARD: Final[dict[str, dict[str, list[Block]]]] = {
    "en": {
        "review-invitation": [
            ("p", "Dear {name},"),
            (
                "p",
                "It is time for your yearly health review. We will check how you are and talk about what matters to you.",
            ),
            (
                "p",
                "We will look at all your health needs in one visit, so you do not need to come many times.",
            ),
            ("h", "What to do"),
            ("p", "Please call us on {phone} to book a time. You can also book in the NHS App."),
            ("p", "If you need help to get here, or someone to come with you, please tell us when you call."),
            ("p", "From {sender}"),
        ],
        "appointment-reminder": [
            ("p", "Dear {name},"),
            ("p", "You have an appointment with us. It is on {when}. It is at {place}."),
            ("p", "Please bring a list of the medicines you take."),
            ("h", "If you cannot come"),
            (
                "p",
                "Please call us on {phone}. Then we can give your time to someone else and find you a new one.",
            ),
            ("p", "From {sender}"),
        ],
        "results-letter": [
            ("p", "Dear {name},"),
            ("p", "We have your test results. {result}"),
            ("h", "What happens next"),
            ("p", "{next_step}"),
            ("p", "If you have any questions, please call us on {phone}."),
            ("p", "From {sender}"),
        ],
        "care-plan-copy": [
            ("p", "Dear {name},"),
            ("p", "Here is a copy of the care and support plan we made with you. Please keep it safe."),
            ("h", "What matters to you"),
            ("p", "{what_matters}"),
            ("h", "Your goals"),
            ("list", "{goals}"),
            ("h", "Who to contact"),
            ("p", "Your named contact is {coordinator}. You can call them on {phone}."),
            ("p", "From {sender}"),
        ],
    },
    "cy": {
        "review-invitation": [
            ("p", "Annwyl {name},"),
            (
                "p",
                "Mae'n amser i chi gael eich adolygiad iechyd blynyddol. Byddwn yn gweld sut ydych chi ac yn siarad am beth sy'n bwysig i chi.",
            ),
            ("h", "Beth i'w wneud"),
            ("p", "Ffoniwch ni ar {phone} i drefnu amser. Gallwch hefyd drefnu yn Ap y GIG."),
            ("p", "Oddi wrth {sender}"),
        ],
        "appointment-reminder": [
            ("p", "Annwyl {name},"),
            ("p", "Dyma nodyn i'ch atgoffa bod gennych apwyntiad ar {when} yn {place}."),
            ("h", "Os na allwch ddod"),
            ("p", "Ffoniwch ni ar {phone} os gwelwch yn dda."),
            ("p", "Oddi wrth {sender}"),
        ],
        "results-letter": [
            ("p", "Annwyl {name},"),
            ("p", "Mae canlyniadau eich profion gennym. {result}"),
            ("h", "Beth sy'n digwydd nesaf"),
            ("p", "{next_step}"),
            ("p", "Os oes gennych gwestiynau, ffoniwch ni ar {phone}."),
            ("p", "Oddi wrth {sender}"),
        ],
        "care-plan-copy": [
            ("p", "Annwyl {name},"),
            ("p", "Dyma gopi o'r cynllun gofal a chymorth a wnaethom gyda chi."),
            ("h", "Beth sy'n bwysig i chi"),
            ("p", "{what_matters}"),
            ("h", "Eich nodau"),
            ("list", "{goals}"),
            ("h", "Pwy i gysylltu â nhw"),
            ("p", "Eich cyswllt enwebedig yw {coordinator}. Ffoniwch ar {phone}."),
            ("p", "Oddi wrth {sender}"),
        ],
    },
}

EASY_READ: Final[dict[str, list[Block]]] = {
    "review-invitation": [
        ("picture", "Picture: a nurse smiling and holding a clipboard."),
        ("p", "Hello {name}."),
        ("p", "It is time for your health check."),
        ("picture", "Picture: a calendar with one day circled."),
        ("p", "We will see how you are."),
        ("p", "We will talk about what is important to you."),
        ("picture", "Picture: a telephone."),
        ("p", "Please phone us to pick a day."),
        ("p", "Our number is {phone}."),
        ("p", "You can bring someone with you."),
    ],
    "appointment-reminder": [
        ("picture", "Picture: a calendar with one day circled."),
        ("p", "Hello {name}."),
        ("p", "You have an appointment."),
        ("p", "When: {when}."),
        ("p", "Where: {place}."),
        ("picture", "Picture: a bag of medicine boxes."),
        ("p", "Please bring your medicines."),
        ("picture", "Picture: a telephone."),
        ("p", "Can you not come? Please phone us on {phone}."),
    ],
    "results-letter": [
        ("picture", "Picture: a doctor reading a piece of paper."),
        ("p", "Hello {name}."),
        ("p", "We have your test results."),
        ("p", "{result}"),
        ("p", "{next_step}"),
        ("picture", "Picture: a telephone."),
        ("p", "Questions? Please phone us on {phone}."),
    ],
    "care-plan-copy": [
        ("picture", "Picture: a person and a nurse talking at a table."),
        ("p", "Hello {name}."),
        ("p", "This is your care plan."),
        ("p", "We made it with you."),
        ("h", "What is important to you"),
        ("p", "{what_matters}"),
        ("h", "Your goals"),
        ("list", "{goals}"),
        ("picture", "Picture: a telephone."),
        ("p", "Your helper is {coordinator}."),
        ("p", "Phone them on {phone}."),
    ],
}

#: The short message sent by app, text or email (the letter's first lines in a sentence or two).
MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "review-invitation": "It is time for your yearly health review with {sender}. Please call {phone} or use the NHS App to book.",
        "appointment-reminder": "Reminder: you have an appointment on {when} at {place}. Call {phone} if you cannot come.",
        "results-letter": "{sender} has your test results. Please call {phone} or read them in the NHS App.",
        "care-plan-copy": "{sender} has sent you a copy of your care and support plan. Call {phone} with any questions.",
    },
    "cy": {
        "review-invitation": "Mae'n amser i chi gael eich adolygiad iechyd blynyddol gyda {sender}. Ffoniwch {phone} i drefnu.",
        "appointment-reminder": "Nodyn atgoffa: mae gennych apwyntiad ar {when} yn {place}. Ffoniwch {phone} os na allwch ddod.",
        "results-letter": "Mae canlyniadau eich profion gan {sender}. Ffoniwch {phone}.",
        "care-plan-copy": "Mae {sender} wedi anfon copi o'ch cynllun gofal a chymorth atoch. Ffoniwch {phone}.",
    },
}

CARER_COPY: Final[dict[str, str]] = {
    "en": "This is a copy for {carer}, who {name} asked us to contact.",
    "cy": "Copi yw hwn i {carer}, y gofynnodd {name} i ni gysylltu â nhw.",
}

#: The languages we have translations for (the letter is in English otherwise).
TRANSLATIONS: Final = frozenset(STANDARD)
