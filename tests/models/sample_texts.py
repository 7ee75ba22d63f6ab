"""A few support utterances (EN/NL, benign and alert-worthy, one empty) shared by the model tests."""

TEXTS = [
    "I want to speak to a real person right now",
    "thanks, that fixed it!",
    "How do I change my address?",
    "You are a useless idiot.",
    "If this isn't fixed today I'm cancelling my contract and reporting you to the ombudsman.",
    "ok",
    "Ik wil een medewerker spreken, geen chatbot.",
    "my bill is wrong again, third time this month",
    "",
    "Could you check the status of order 123?",
]
