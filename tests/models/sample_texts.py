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

# an email whose request for a person comes after the encoder's first window of 126 word pieces (MODEL_CARD.md, "Long texts")
LONG_EMAIL = ("Dear customer service, I am writing about the internet subscription at our new address. We moved in at "
              "the start of the month and the engineer installed the modem on the second. Since then the connection "
              "has worked most of the day, but in the evenings the speed drops and video calls freeze. I have restarted "
              "the modem, replaced the cable that came in the box, moved the modem to the living room and followed the "
              "steps on your support pages, including the speed test and the channel settings. My neighbours have the "
              "same package and do not see this. I have attached the results of the speed tests from the last five "
              "evenings. I would like to speak to a real person about this, so please have someone call me back.")
