"""Seeded generator of our own English + Dutch contact-centre utterances for the labels no public set has.

Public data does not label escalation reasons (manager requests, legal/regulator threats, repeat
contact, distress, vulnerability), reports of discrimination, or agent-side condescension, and it has
no Dutch. This module writes them compositionally: per category, hand-written core templates (EN and NL,
polite and rude registers) with slots, optionally preceded by a greeting and a neutral/mildly negative
context sentence, with noise (lower/upper case, missing punctuation, typos, "u" for "you").

Hard negatives are first-class: identity mentioned without unfairness ("I'm deaf, can we continue by
chat?"), mild complaints that are not escalation, routine cancellations, mentions of people/agents that
are not requests for one, profanity aimed at a situation, negated threats, polite agent lines, and bare
topic openings ("I have a question about my bill.") that say what a contact is about before saying
whether anything is wrong (without them a topic sentence was only ever seen in front of a complaint), and
the fillers of a live call ("One moment.", "Yes, I'm the account holder.").

Generalisation, not memorisation: every template and every slot value belongs to exactly one fold.
Templates go ``idx % 5`` -> 0,1,2 train / 3 val / 4 test; slot values ``idx % 4 == 3`` are test-only.
So the held-out test split shares no core template and few slot values with training.

Run ``python -m models.synth`` to rewrite ``models/data/synth_{train,val,test}.jsonl`` (deterministic).
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

# labels: sentiment 0 neg / 1 neu / 2 pos; binary 0/1; None = not labelled (left out of that task)
NEG, NEU, POS = 0, 1, 2

SLOTS: dict[str, dict[str, list[str]]] = {
    "competitor": {
        "en": ["Vodafone", "BT", "Sky", "a competitor", "another provider", "Virgin", "EE", "your rivals"],
        "nl": ["KPN", "Ziggo", "Odido", "een andere provider", "de concurrent", "Eneco", "Vattenfall", "Essent"],
    },
    "regulator": {
        "en": ["the ombudsman", "Ofcom", "the FCA", "trading standards", "the financial ombudsman",
               "the consumer protection authority", "the regulator", "the data protection authority"],
        "nl": ["de ACM", "het Kifid", "de Geschillencommissie", "de ombudsman", "de Autoriteit Persoonsgegevens",
               "de Consumentenbond", "de AFM", "de toezichthouder"],
    },
    "media": {
        "en": ["Twitter", "Facebook", "the local paper", "TikTok", "Trustpilot", "Reddit", "Instagram", "the press"],
        "nl": ["Twitter", "Facebook", "de krant", "TikTok", "Radar", "social media", "Instagram", "Kassa"],
    },
    "times": {
        "en": ["third", "fourth", "fifth", "sixth", "tenth", "umpteenth", "seventh", "eighth"],
        "nl": ["derde", "vierde", "vijfde", "zesde", "tiende", "zoveelste", "zevende", "achtste"],
    },
    "n": {"en": ["three", "four", "5", "six", "7", "ten", "eight", "12"],
          "nl": ["drie", "vier", "5", "zes", "7", "tien", "acht", "12"]},
    "period": {
        "en": ["three weeks", "two months", "a month", "ten days", "six weeks", "half a year", "5 weeks", "a fortnight"],
        "nl": ["drie weken", "twee maanden", "een maand", "tien dagen", "zes weken", "een half jaar", "5 weken",
               "veertien dagen"],
    },
    "product": {
        "en": ["internet", "bill", "refund", "phone line", "account", "bank card", "delivery", "contract"],
        "nl": ["internet", "factuur", "terugbetaling", "telefoonlijn", "account", "bankpas", "bezorging", "contract"],
    },
    "attr": {
        "en": ["my accent", "my age", "my disability", "my skin colour", "my religion", "my headscarf", "my name",
               "my nationality", "my gender", "my sexuality", "my wheelchair", "my postcode", "my income",
               "my surname", "my hearing impairment", "where I live"],
        "nl": ["mijn accent", "mijn leeftijd", "mijn handicap", "mijn huidskleur", "mijn geloof", "mijn hoofddoek",
               "mijn naam", "mijn nationaliteit", "mijn geslacht", "mijn geaardheid", "mijn rolstoel",
               "mijn postcode", "mijn inkomen", "mijn achternaam", "mijn slechthorendheid", "de wijk waar ik woon"],
    },
    "age": {"en": ["82", "79", "91", "75", "88", "84", "70", "95"], "nl": ["82", "79", "91", "75", "88", "84", "70", "95"]},
    "place": {
        "en": ["Peckham", "the east side", "Moss Side", "the Bijlmer", "Tower Hamlets", "the old town", "Toxteth",
               "Hackney"],
        "nl": ["de Bijlmer", "Schilderswijk", "Kanaleneiland", "Overvecht", "Lombok", "Charlois", "Zuidoost",
               "Tarwewijk"],
    },
    "country": {
        "en": ["Poland", "Morocco", "Turkey", "Nigeria", "India", "Syria", "Brazil", "Romania"],
        "nl": ["Polen", "Marokko", "Turkije", "Suriname", "India", "Syrië", "Brazilië", "Roemenië"],
    },
    "language": {
        "en": ["Turkish", "Polish", "Arabic", "Spanish", "Dutch", "French", "Portuguese", "Ukrainian"],
        "nl": ["Turks", "Pools", "Arabisch", "Spaans", "Engels", "Frans", "Portugees", "Oekraïens"],
    },
    "dept": {
        "en": ["billing", "technical", "complaints", "retention", "sales", "claims", "support", "accounts"],
        "nl": ["facturatie", "techniek", "klachten", "opzeggingen", "verkoop", "schade", "support", "administratie"],
    },
    "order": {"en": ["#48213", "12-889", "A7731", "the last one", "from Tuesday", "9921", "X-204", "#5510"],
              "nl": ["#48213", "12-889", "A7731", "van vorige week", "van dinsdag", "9921", "X-204", "#5510"]},
}


@dataclass(frozen=True)
class Category:
    name: str
    labels: dict[str, int | None]
    en: list[str | tuple[str, dict[str, int | None]]]
    nl: list[str | tuple[str, dict[str, int | None]]]
    speaker: str = "customer"
    context: bool = True  # may get a context sentence in front
    shout: bool = False  # may be written in capitals
    rows: int = 1  # multiple of PER_CATEGORY rows to draw (more for a boundary few other rows teach)


def L(s: int | None, e: int | None, h: int | None, u: int | None) -> dict[str, int | None]:  # noqa: N802
    return {"sentiment": s, "escalation": e, "human_requested": h, "unfair_treatment": u}


CATEGORIES: list[Category] = [
    # ---------------------------------------------------------------- requests for a human (escalation too)
    Category("human_polite", L(NEU, 1, 1, 0), en=[
        "Could I speak to a real person, please?",
        "I'd like to talk to a human agent.",
        "Is it possible to chat with an actual person?",
        "Can you connect me to a live agent?",
        "I would prefer to speak with someone from your team rather than the bot.",
        "Please transfer me to a representative.",
        "Can someone call me back? I'd rather discuss this with a person.",
        "May I speak with a supervisor, please?",
        "I'd like to speak to your manager about this.",
        "Is there a human I can talk to about my {product}?",
        "Can I get an operator please.",
        "I'd appreciate it if one of your colleagues could take over.",
        "Could you put me through to someone in the {dept} team?",
        "Can a human look at my case, please?",
        "I'd like to speak with a staff member, not an automated system.",
        "Would it be possible to have an employee phone me?",
        "I think I need a real advisor for this one, can you arrange that?",
        "Could I be handed over to a person?",
        "Please let me talk to somebody in person.",
        "Is there a way to reach an actual human being?",
    ], nl=[
        "Kan ik een medewerker spreken, alstublieft?",
        "Ik wil graag met een echt persoon praten.",
        "Is het mogelijk om met een mens te chatten?",
        "Kunt u mij doorverbinden met een medewerker?",
        "Ik spreek liever iemand van jullie dan de chatbot.",
        "Mag ik uw leidinggevende spreken?",
        "Kan er iemand van de klantenservice mij terugbellen?",
        "Ik zou dit graag met een medewerker bespreken.",
        "Is er een mens die naar mijn {product} kan kijken?",
        "Zou een collega van u dit kunnen overnemen?",
        "Kan ik iemand aan de lijn krijgen?",
        "Graag contact met een echte medewerker.",
        "Ik wil graag een manager spreken over deze kwestie.",
        "Kunt u mij met iemand van de afdeling {dept} verbinden?",
        "Ik wil liever even iemand persoonlijk spreken.",
        "Zou een medewerker mij kunnen bellen?",
        "Hiervoor heb ik echt een adviseur nodig, kunt u dat regelen?",
        "Kan ik worden overgedragen aan een persoon?",
        "Graag iemand van vlees en bloed aan de lijn.",
        "Hoe kan ik een echte medewerker bereiken?",
    ]),
    Category("human_frustrated", L(NEG, 1, 1, 0), shout=True, en=[
        "I want to speak to a real person NOW.",
        "Stop. Human. Agent.",
        "Get me a human, this bot is useless.",
        "Let me talk to someone who actually knows what they're doing.",
        "I'm done with this chatbot, give me a real person.",
        "Representative! Representative!",
        "Put your manager on the line.",
        "I don't want to talk to a machine, I want a person.",
        "Enough with the automated answers, connect me to an agent.",
        "Transfer me to a human immediately.",
        "Is there an actual person there or just robots?",
        "Agent please. Not the bot.",
        "I demand to speak to your supervisor.",
        "Can I just talk to somebody? Anybody?",
        "You keep sending me links, I want a live person.",
        "Your stupid bot keeps looping, get me an agent.",
        "Human. Now. Please.",
        "Stop wasting my time and let me speak to a person.",
        "I've asked three times: connect me to a real human!",
        "Is anyone actually working there? I need a person, not this menu.",
    ], nl=[
        "Ik wil NU een mens spreken.",
        "Geef me gewoon een medewerker, deze bot snapt er niks van.",
        "Ik ben klaar met die chatbot, verbind me door met een persoon.",
        "Medewerker! Medewerker!",
        "Ik wil je manager spreken.",
        "Ik wil niet met een computer praten, ik wil een mens.",
        "Stop met die automatische antwoorden en geef me iemand aan de lijn.",
        "Verbind me onmiddellijk door met een medewerker.",
        "Is daar ook een echt mens of alleen robots?",
        "Ik eis dat ik uw leidinggevende spreek.",
        "Kan ik gewoon iemand spreken? Wie dan ook?",
        "Jullie sturen steeds linkjes, ik wil een echt persoon.",
        "Laat een collega die er verstand van heeft mij bellen.",
        "Gewoon een mens graag, geen bot.",
        "Haal die robot weg en geef me een medewerker.",
        "Die stomme bot blijft rondjes draaien, geef me een medewerker.",
        "Mens. Nu. Alsjeblieft.",
        "Verspil mijn tijd niet en laat me iemand spreken.",
        "Ik vraag het nu voor de derde keer: een echte medewerker!",
        "Werkt daar eigenlijk iemand? Ik wil een persoon, niet dit menu.",
    ]),
    # ---------------------------------------------------------------- escalation without a human request
    Category("esc_threat_cancel", L(NEG, 1, 0, 0), en=[
        "If this isn't fixed by Friday I'm cancelling my contract.",
        "I'm seriously thinking about switching to {competitor}.",
        "One more problem and I'm leaving for {competitor}.",
        "Cancel everything, I'm done with this company.",
        "I'll be taking my business to {competitor}.",
        "After ten years as a customer I'm ready to close my account over this.",
        "Fix it or I terminate the contract, simple as that.",
        "I'm going to cancel and tell everyone to avoid you.",
        "{competitor} offered me a better deal and after this I'm taking it.",
        "Honestly I'm about to switch provider over this.",
        "This is the last straw, I'm closing all my accounts.",
        "Unless you sort this out I will end my subscription today.",
        "Keep this up and you've lost a customer.",
        "I'm moving everything to {competitor} if I don't get my money back.",
        "Don't expect me to renew, I'm out of here.",
    ], nl=[
        "Als dit vrijdag niet is opgelost zeg ik mijn contract op.",
        "Ik overweeg serieus over te stappen naar {competitor}.",
        "Nog één probleem en ik ben weg, naar {competitor}.",
        "Zeg alles maar op, ik ben klaar met dit bedrijf.",
        "Ik neem mijn klandizie mee naar {competitor}.",
        "Na tien jaar klant te zijn zeg ik hierom alles op.",
        "Los het op of ik beëindig het contract.",
        "Ik stap over en raad iedereen af om bij jullie te komen.",
        "{competitor} biedt me een betere deal en daar ga ik nu op in.",
        "Dit is de druppel, ik zeg alles op.",
        "Als jullie dit niet regelen, stop ik vandaag nog met mijn abonnement.",
        "Zo raken jullie een klant kwijt.",
        "Als ik mijn geld niet terugkrijg ga ik naar {competitor}.",
        "Reken er maar niet op dat ik verleng, ik ben weg.",
        "Ik ben het zat, ik ga weg bij jullie.",
    ]),
    Category("esc_legal_media", L(NEG, 1, 0, 0), en=[
        "I will be contacting my lawyer about this.",
        "I'm filing a formal complaint with {regulator}.",
        "Expect to hear from my solicitor.",
        "I'm going to report you to {regulator}.",
        "I'll take this to court if I have to.",
        "I'm posting this whole conversation on {media}.",
        "I'll make sure everyone on {media} knows how you treat customers.",
        "I'm going to the press with this.",
        "This is going to {regulator} today.",
        "I'll sue you for the damages.",
        "My legal team will be in touch.",
        "I've already drafted a complaint to {regulator}.",
        "See you in small claims court.",
        "I'm escalating this to {regulator} and {media}.",
        "You'll be reading about this in a review on {media}.",
    ], nl=[
        "Ik schakel hier een advocaat voor in.",
        "Ik dien een officiële klacht in bij {regulator}.",
        "U hoort nog van mijn advocaat.",
        "Ik ga jullie melden bij {regulator}.",
        "Ik stap desnoods naar de rechter.",
        "Ik zet dit hele gesprek op {media}.",
        "Iedereen op {media} gaat horen hoe jullie klanten behandelen.",
        "Ik ga hiermee naar de pers.",
        "Dit gaat vandaag nog naar {regulator}.",
        "Ik stel jullie aansprakelijk voor de schade.",
        "Mijn rechtsbijstand neemt contact met jullie op.",
        "Ik heb al een klacht bij {regulator} klaarstaan.",
        "Dan zien we elkaar bij de kantonrechter.",
        "Ik ga dit melden bij {regulator} en op {media} zetten.",
        "Jullie lezen hier nog over in een recensie op {media}.",
    ]),
    Category("esc_repeat", L(NEG, 1, 0, 0), en=[
        "This is the {times} time I'm contacting you about my {product}.",
        "I've been chasing this for {period} and nothing has happened.",
        "I've called {n} times and every time I'm promised a callback that never comes.",
        "Every agent tells me something different and it's still not resolved.",
        "Same problem again, I already explained this {period} ago.",
        "Your colleague promised me it would be fixed {period} ago.",
        "Still no {product} after {period}, and this is my {times} chat.",
        "Why do I have to explain this again? I've told you {n} times.",
        "I've been going round in circles with you for {period}.",
        "Nobody ever calls back. This is contact number {n}.",
        "I was told it was escalated {period} ago and I've heard nothing.",
        "Again?! This is exactly what happened last month and the month before.",
        "I keep getting passed from department to department.",
        "{n} calls, {n} tickets, zero solutions.",
        "I've lost count of how many times I've reported this.",
    ], nl=[
        "Dit is de {times} keer dat ik contact opneem over mijn {product}.",
        "Ik ben hier al {period} mee bezig en er gebeurt niets.",
        "Ik heb al {n} keer gebeld en word nooit teruggebeld.",
        "Elke medewerker zegt iets anders en het is nog steeds niet opgelost.",
        "Weer hetzelfde probleem, ik heb dit {period} geleden al uitgelegd.",
        "Uw collega beloofde {period} geleden dat het opgelost zou worden.",
        "Nog steeds geen {product} na {period}, en dit is mijn {times} chat.",
        "Waarom moet ik dit weer uitleggen? Ik heb het al {n} keer verteld.",
        "Ik word al {period} van het kastje naar de muur gestuurd.",
        "Niemand belt ooit terug. Dit is contact nummer {n}.",
        "Er werd {period} geleden gezegd dat het was doorgezet en ik hoor niets.",
        "Alweer?! Precies hetzelfde als vorige maand en de maand daarvoor.",
        "Ik word steeds van afdeling naar afdeling doorgeschoven.",
        "{n} telefoontjes, {n} meldingen, nul oplossingen.",
        "Ik weet niet meer hoe vaak ik dit al gemeld heb.",
    ]),
    Category("esc_anger", L(NEG, 1, 0, 0), shout=True, en=[
        "This is absolutely unacceptable, I am furious.",
        "I'm sick and tired of your incompetence.",
        "I have never been treated this badly by a company. Disgraceful.",
        "Are you kidding me?! This is a joke!",
        "I am beyond angry right now.",
        "You have ruined my week and I'm livid.",
        "Your service is an absolute disgrace.",
        "I'm so angry I can barely type.",
        "What a shambles. I am fuming.",
        "This is outrageous, I want answers now!",
        "I've had it with this company. Completely fed up.",
        "Unbelievable. Absolutely pathetic service.",
        "How dare you charge me for this?!",
        "I'm shaking with rage after that call.",
        "This is the worst customer service I've ever experienced, full stop.",
    ], nl=[
        "Dit is echt onacceptabel, ik ben woedend.",
        "Ik ben jullie incompetentie spuugzat.",
        "Zo slecht ben ik nog nooit behandeld. Schandalig.",
        "Maken jullie een grap?! Dit is belachelijk!",
        "Ik ben ontzettend kwaad.",
        "Jullie hebben mijn hele week verpest, ik ben razend.",
        "Jullie service is een schande.",
        "Ik ben zo boos dat ik amper kan typen.",
        "Wat een puinhoop. Ik ben laaiend.",
        "Dit is schandalig, ik wil nu antwoorden!",
        "Ik ben helemaal klaar met dit bedrijf.",
        "Ongelooflijk. Wat een waardeloze service.",
        "Hoe durven jullie hiervoor te rekenen?!",
        "Ik tril van woede na dat gesprek.",
        "Dit is de slechtste klantenservice die ik ooit heb meegemaakt, punt.",
    ]),
    Category("esc_distress", L(NEG, 1, 0, 0), en=[
        "I don't know what to do anymore, please help me.",
        "I'm at my wits' end, I've been crying all morning.",
        "Please, I'm begging you, my kids have no heating.",
        "I can't cope with this any more.",
        "I'm desperate, I need this money back to pay my rent.",
        "I haven't slept in days because of this.",
        "Please, I have nowhere else to turn.",
        "I'm really scared I'll be disconnected tomorrow.",
        "This is making me ill with worry.",
        "I have no money left for food since you took this payment.",
        "I'm panicking, my whole salary is gone from my account.",
        "I feel completely hopeless about this.",
        "I'm in tears, please just make it stop.",
        "My anxiety is through the roof because of these letters.",
        "I really can't take much more of this.",
    ], nl=[
        "Ik weet het echt niet meer, help me alstublieft.",
        "Ik ben ten einde raad, ik zit al de hele ochtend te huilen.",
        "Alsjeblieft, ik smeek het u, mijn kinderen zitten zonder verwarming.",
        "Ik kan dit niet meer aan.",
        "Ik ben wanhopig, ik heb dit geld nodig voor de huur.",
        "Ik slaap al dagen niet door dit gedoe.",
        "Ik kan nergens anders meer heen.",
        "Ik ben echt bang dat ik morgen word afgesloten.",
        "Ik word ziek van de zorgen.",
        "Ik heb geen geld meer voor eten sinds die afschrijving.",
        "Ik raak in paniek, mijn hele salaris is van mijn rekening.",
        "Ik voel me hier compleet hopeloos over.",
        "Ik zit in tranen, laat het alsjeblieft stoppen.",
        "Ik word gek van de stress door deze brieven.",
        "Ik trek dit echt niet veel langer.",
    ]),
    Category("esc_vulnerable", L(NEG, 1, 0, 0), en=[
        "My husband passed away last month and the account is in his name.",
        "My mum died recently and I need to close her account.",
        "I'm in hospital for chemotherapy and can't deal with this.",
        "I lost my job and I can't pay this bill.",
        "I'm in serious financial difficulty and behind on payments.",
        "My ex is threatening me, please make sure he can't get my new address.",
        "I rely on electricity for my oxygen machine.",
        "I've just been diagnosed with cancer and need to pause payments.",
        "I'm a carer for my disabled son and we're in debt.",
        "We've had no heating for a week and I have a newborn.",
        "I'm {age}, I live alone and the phone line is my only way to call for help.",
        "I was made redundant and I'm struggling to keep up with the bills.",
        "I'm fleeing domestic abuse and need my details changed urgently.",
        "My father has dementia and someone has been taking money from his account.",
        "Since my wife died I can't manage these bills on my own.",
    ], nl=[
        "Mijn man is vorige maand overleden en het contract staat op zijn naam.",
        "Mijn moeder is kort geleden overleden, ik moet haar account opzeggen.",
        "Ik lig in het ziekenhuis voor chemo en kan dit er niet bij hebben.",
        "Ik ben mijn baan kwijt en kan deze rekening niet betalen.",
        "Ik zit in grote financiële problemen en loop achter met betalen.",
        "Mijn ex bedreigt mij, zorg alstublieft dat hij mijn nieuwe adres niet krijgt.",
        "Ik ben afhankelijk van stroom voor mijn zuurstofapparaat.",
        "Ik heb net gehoord dat ik kanker heb en wil de betalingen pauzeren.",
        "Ik zorg voor mijn gehandicapte zoon en we hebben schulden.",
        "We zitten al een week zonder verwarming en ik heb een pasgeboren baby.",
        "Ik ben {age}, woon alleen en de telefoon is mijn enige manier om hulp te roepen.",
        "Ik ben ontslagen en kan de rekeningen niet meer bijhouden.",
        "Ik ben gevlucht voor huiselijk geweld en mijn gegevens moeten snel worden aangepast.",
        "Mijn vader heeft dementie en iemand haalt geld van zijn rekening.",
        "Sinds mijn vrouw is overleden lukt het me niet om deze rekeningen te betalen.",
    ]),
    # ---------------------------------------------------------------- unfair treatment
    Category("unfair_report", L(NEG, None, 0, 1), en=[
        "I feel like I'm being treated differently because of {attr}.",
        "The agent was rude to me the moment she noticed {attr}.",
        "I was refused the contract and I'm sure it's because of {attr}.",
        "Would you talk to me like this if it weren't for {attr}?",
        "This is discrimination, plain and simple.",
        "I was singled out at the counter because of {attr}.",
        "Other customers get the discount but I don't, just because of {attr}.",
        "Your staff laughed at {attr} and then ignored me.",
        "I'm being discriminated against by your company.",
        "Why am I the only one asked for extra ID? Is it because of {attr}?",
        "They told me people like me aren't eligible. That's unfair treatment.",
        "Your colleague mocked {attr} on the phone.",
        "You denied my application based on {attr}, that's not right.",
        "I got treated like a second-class customer because of {attr}.",
        "The engineer refused to come to {place} and said it's not safe for people like him.",
        "Your agent called me racist names.",
        "I was told my kind should shop elsewhere.",
        "Because I'm {age} your staff assumed I couldn't understand anything.",
        "It's not fair that I get a worse rate just because I live in {place}.",
        "I heard the agent make a joke about {attr} before the line went quiet.",
    ], nl=[
        "Ik heb het gevoel dat ik anders behandeld word vanwege {attr}.",
        "De medewerker werd onbeleefd zodra ze {attr} merkte.",
        "Ik kreeg het contract niet en ik weet zeker dat het door {attr} komt.",
        "Zou u zo tegen mij praten als het niet om {attr} ging?",
        "Dit is gewoon discriminatie.",
        "Ik werd aan de balie eruit gepikt vanwege {attr}.",
        "Andere klanten krijgen wel korting, ik niet, alleen vanwege {attr}.",
        "Uw personeel lachte om {attr} en negeerde mij daarna.",
        "Ik word door jullie bedrijf gediscrimineerd.",
        "Waarom moet alleen ik extra legitimatie tonen? Komt dat door {attr}?",
        "Ze zeiden dat mensen zoals ik niet in aanmerking komen. Dat is oneerlijk.",
        "Uw collega maakte grappen over {attr} aan de telefoon.",
        "U heeft mijn aanvraag afgewezen op basis van {attr}, dat klopt niet.",
        "Ik word als tweederangs klant behandeld vanwege {attr}.",
        "De monteur wilde niet naar {place} komen, want 'daar wonen zulke mensen'.",
        "Uw medewerker schold mij uit met racistische woorden.",
        "Mij werd gezegd dat mijn soort maar ergens anders moet winkelen.",
        "Omdat ik {age} ben, dacht uw personeel dat ik niks begreep.",
        "Het is oneerlijk dat ik een slechter tarief krijg omdat ik in {place} woon.",
        "Ik hoorde de medewerker een grap maken over {attr} voordat het stil werd.",
    ]),
    Category("unfair_agent", L(NEG, None, 0, 1), speaker="agent", context=False, en=[
        "Sweetie, let me explain this very slowly so you understand.",
        "At your age you really shouldn't be doing banking online.",
        "I can barely understand your accent, can you get someone who speaks proper English?",
        "Women usually find these contracts confusing, maybe ask your husband.",
        "People from your area always pay late, so we need a deposit.",
        "You people always try to cheat the system.",
        "Is there someone more capable at home I can talk to?",
        "With a name like that I'll need extra ID.",
        "Calm down, you're being hysterical.",
        "I'm not going to waste time on someone who can't even speak the language.",
        "Customers like you are the reason we have these rules.",
        "Honestly, that's a stupid question.",
        "Try using your brain for once.",
        "I'll speak slowly, since you obviously aren't from here.",
        "Your kind never reads the terms anyway.",
    ], nl=[
        "Schatje, ik leg het heel langzaam uit zodat u het snapt.",
        "Op uw leeftijd moet u echt niet meer online bankieren.",
        "Ik versta uw accent nauwelijks, is er iemand die gewoon Nederlands spreekt?",
        "Vrouwen vinden deze contracten meestal lastig, vraag het anders aan uw man.",
        "Mensen uit uw wijk betalen altijd te laat, dus we vragen een borg.",
        "Jullie soort probeert altijd het systeem te bedriegen.",
        "Is er iemand thuis die wat slimmer is met wie ik kan praten?",
        "Met zo'n naam heb ik extra legitimatie nodig.",
        "Doe eens rustig, u bent hysterisch.",
        "Ik ga geen tijd verspillen aan iemand die de taal niet eens spreekt.",
        "Klanten zoals u zijn de reden dat we deze regels hebben.",
        "Eerlijk gezegd is dat een domme vraag.",
        "Gebruik voor één keer uw verstand.",
        "Ik praat wel langzaam, u bent duidelijk niet van hier.",
        "Uw soort leest de voorwaarden toch nooit.",
    ]),
    Category("unfair_abuse", L(NEG, 1, 0, 1), shout=True, en=[
        "You're a useless idiot.",
        "Are you stupid or something?",
        "Shut up, you incompetent moron.",
        "What a f***ing clown you are.",
        "You're too thick to understand anything.",
        "Listen here you brainless muppet.",
        "You absolute waste of space.",
        "Go back to school, you illiterate fool.",
        "Are you deaf or just dumb?",
        "You're all liars and thieves in that call centre.",
        "I'm not talking to a stupid little girl like you.",
        "Useless, like everyone else working there.",
        "Get your head out of your arse and do your job.",
        "You pathetic excuse for a human being.",
        "Can't you read, you moron?",
    ], nl=[
        "Je bent een nutteloze idioot.",
        "Ben je nou dom of zo?",
        "Hou je mond, incompetente sukkel.",
        "Wat ben jij een klungel zeg.",
        "Je bent te dom om iets te snappen.",
        "Luister eens, hersenloze kluns.",
        "Jij bent echt een waardeloos figuur.",
        "Ga terug naar school, analfabeet.",
        "Ben je doof of gewoon achterlijk?",
        "Jullie zijn allemaal leugenaars en oplichters daar.",
        "Ik praat niet met zo'n dom wicht als jij.",
        "Nutteloos, net als iedereen die daar werkt.",
        "Haal je kop uit je reet en doe je werk.",
        "Wat ben jij een zielig mens.",
        "Kun je niet lezen, sukkel?",
    ]),
    Category("unfair_bias_customer", L(NEG, None, None, 1), en=[
        "I don't want to talk to a foreigner, give me someone from here.",
        "Put me through to a man, women can't handle technical stuff.",
        "I can't deal with your accent, get me a native speaker.",
        "I'm not discussing my money with someone like you.",
        "Is there anyone there who isn't from {country}?",
        "Typical, they let people like you answer the phones now.",
        "I want a proper English agent, not you.",
        "Go back to {country} if you can't do the job.",
        "I don't trust people of your religion with my details.",
        "Of course a girl wouldn't understand engines.",
    ], nl=[
        "Ik wil geen buitenlander aan de lijn, geef me iemand van hier.",
        "Verbind me door met een man, vrouwen snappen niks van techniek.",
        "Ik kan niks met jouw accent, geef me iemand die normaal Nederlands praat.",
        "Ik bespreek mijn geld niet met iemand zoals jij.",
        "Is daar ook iemand die niet uit {country} komt?",
        "Typisch, tegenwoordig laten ze mensen zoals jij de telefoon opnemen.",
        "Ik wil een echte Nederlandse medewerker, niet jou.",
        "Ga terug naar {country} als je het werk niet kunt.",
        "Ik vertrouw mensen van jouw geloof mijn gegevens niet toe.",
        "Natuurlijk snapt een meisje niks van motoren.",
    ]),
    # ---------------------------------------------------------------- hard negatives
    Category("neg_identity_mention", L(NEU, 0, 0, 0), en=[
        "I'm deaf, can we continue by chat?",
        "My mother is {age} and needs help setting up her online account.",
        "I use a wheelchair, is your shop in {place} accessible?",
        "English isn't my first language, could you write a bit more simply?",
        "I'm visually impaired, can I get my bills in large print?",
        "My wife and I would like a joint account.",
        "My husband and I are moving in together, can we merge our contracts?",
        "I'm Muslim, do you offer an interest-free option?",
        "I'm a student, is there a student discount?",
        "I'm retired and would like to switch to paper invoices.",
        "I'm originally from {country}, can I use my foreign passport as ID?",
        "I have dyslexia, could you call me instead of emailing?",
        "I'm autistic and phone calls are hard for me, can we keep to chat?",
        "I live in {place}, is fibre available there yet?",
        "Can I get the contract in {language}?",
        "I wear a hearing aid, so please speak clearly.",
        "My grandson usually helps me with the computer, can he join the call?",
        "I'm a single dad, can the engineer come after school hours?",
        "I'm blind and use a screen reader, is your app compatible?",
        "As a Jewish customer, is the shop closed on Saturday?",
    ], nl=[
        "Ik ben doof, kunnen we via de chat verder?",
        "Mijn moeder is {age} en heeft hulp nodig met haar online account.",
        "Ik zit in een rolstoel, is de winkel in {place} toegankelijk?",
        "Nederlands is niet mijn moedertaal, kunt u het wat eenvoudiger uitleggen?",
        "Ik ben slechtziend, kan ik de facturen in grote letters krijgen?",
        "Mijn vrouw en ik willen een gezamenlijke rekening.",
        "Mijn man en ik gaan samenwonen, kunnen we de contracten samenvoegen?",
        "Ik ben moslim, heeft u een renteloze optie?",
        "Ik ben student, is er studentenkorting?",
        "Ik ben gepensioneerd en wil graag papieren facturen.",
        "Ik kom oorspronkelijk uit {country}, kan ik mijn buitenlandse paspoort gebruiken?",
        "Ik heb dyslexie, kunt u mij bellen in plaats van mailen?",
        "Ik ben autistisch en bellen vind ik lastig, kunnen we in de chat blijven?",
        "Ik woon in {place}, is daar al glasvezel?",
        "Kan ik het contract in het {language} krijgen?",
        "Ik draag een gehoorapparaat, wilt u duidelijk praten?",
        "Mijn kleinzoon helpt me meestal met de computer, mag hij meeluisteren?",
        "Ik ben alleenstaande vader, kan de monteur na schooltijd komen?",
        "Ik ben blind en gebruik een schermlezer, werkt uw app daarmee?",
        "Ik ben joods, is de winkel op zaterdag gesloten?",
    ]),
    Category("neg_agent_polite", L(NEU, 0, 0, 0), speaker="agent", context=False, en=[
        "I'm sorry for the inconvenience, let me check that for you.",
        "I understand your frustration, I'll do my best to sort this out.",
        "Let me transfer you to a colleague in {dept}.",
        ("Thank you for your patience.", {"sentiment": POS}),
        "Could you confirm your postcode for me, please?",
        "I've passed this on to our technical team.",
        "Of course, I can arrange a callback with a specialist.",
        "No problem at all, take your time.",
        "I've applied a credit to your account.",
        "Is there anything else I can help you with today?",
        "I'll explain it step by step, just let me know if anything is unclear.",
        "We can continue in chat if that's easier for you.",
        "I'll put you through to my supervisor so she can approve the refund.",
        "I can send the letter in large print or in {language} if you prefer.",
        ("Happy to help, have a great evening!", {"sentiment": POS}),
    ], nl=[
        "Excuses voor het ongemak, ik zoek het even voor u uit.",
        "Ik begrijp uw frustratie, ik ga mijn best doen om het op te lossen.",
        "Ik verbind u door met een collega van {dept}.",
        ("Bedankt voor uw geduld.", {"sentiment": POS}),
        "Kunt u uw postcode bevestigen?",
        "Ik heb dit doorgezet naar ons technische team.",
        "Natuurlijk, ik plan een terugbelafspraak met een specialist.",
        "Geen probleem, neem rustig de tijd.",
        "Ik heb een tegoed op uw rekening gezet.",
        "Kan ik u verder nog ergens mee helpen?",
        "Ik leg het stap voor stap uit, zeg het gerust als iets niet duidelijk is.",
        "We kunnen in de chat verder als dat makkelijker is.",
        "Ik verbind u door met mijn leidinggevende, zij kan de terugbetaling goedkeuren.",
        "Ik kan de brief in grote letters of in het {language} sturen als u dat wilt.",
        ("Graag gedaan, nog een fijne avond!", {"sentiment": POS}),
    ]),
    Category("neg_mild_complaint", L(NEG, 0, 0, 0), en=[
        "My package is a day late, any update?",
        "A bit annoying that the app logged me out again.",
        "The invoice seems higher than usual, can you check?",
        "Not great that I had to wait 10 minutes in the queue.",
        "The delivery window was missed, can we reschedule?",
        "I'm a little disappointed the discount wasn't applied.",
        "The website is quite slow today.",
        "Hmm, that's not what I was told earlier, can you double-check?",
        "The router keeps dropping the connection in the evening.",
        "I was charged twice for my {product}, please refund one.",
        "It's frustrating that the form keeps failing.",
        "Shame the offer ended yesterday.",
        "The technician didn't show up this morning, can I book another slot?",
        "My {product} isn't working properly, could you look into it?",
        "I'm not very happy with the new price.",
    ], nl=[
        "Mijn pakket is een dag te laat, is er nieuws?",
        "Beetje vervelend dat de app me weer uitlogt.",
        "De factuur lijkt hoger dan normaal, kunt u dat nakijken?",
        "Niet zo fijn dat ik 10 minuten moest wachten.",
        "De bezorger is niet gekomen, kunnen we een nieuwe afspraak maken?",
        "Ik ben een beetje teleurgesteld dat de korting niet is verwerkt.",
        "De website is vandaag erg traag.",
        "Hmm, dat is niet wat me eerder werd verteld, kunt u het checken?",
        "De router valt 's avonds steeds weg.",
        "Er is twee keer afgeschreven voor mijn {product}, wilt u er één terugstorten?",
        "Balen dat het formulier steeds mislukt.",
        "Jammer dat de actie gisteren is afgelopen.",
        "De monteur is vanochtend niet komen opdagen, kan ik een nieuwe afspraak maken?",
        "Mijn {product} werkt niet goed, kunt u ernaar kijken?",
        "Ik ben niet zo blij met de nieuwe prijs.",
    ]),
    Category("neg_routine", L(NEU, 0, 0, 0), en=[
        "How do I change my address?",
        "I'd like to cancel my order {order}.",
        "I want to cancel my subscription because I'm moving abroad.",
        "Can you resend my last invoice?",
        "What's the cancellation fee for my contract?",
        "When does my contract end?",
        "I'd like to upgrade to the faster plan.",
        "Can I pay by direct debit?",
        "Where can I find my customer number?",
        "Please update my phone number.",
        "Do you deliver on Saturdays?",
        "How long does a refund usually take?",
        "I'd like to close my account, I no longer need it.",
        "Can I add a second SIM to my plan?",
        "What are your opening hours?",
    ], nl=[
        "Hoe wijzig ik mijn adres?",
        "Ik wil mijn bestelling {order} annuleren.",
        "Ik wil mijn abonnement opzeggen omdat ik naar het buitenland verhuis.",
        "Kunt u mijn laatste factuur opnieuw sturen?",
        "Wat zijn de opzegkosten van mijn contract?",
        "Wanneer loopt mijn contract af?",
        "Ik wil graag overstappen naar het snellere pakket.",
        "Kan ik via automatische incasso betalen?",
        "Waar vind ik mijn klantnummer?",
        "Wilt u mijn telefoonnummer aanpassen?",
        "Bezorgen jullie ook op zaterdag?",
        "Hoe lang duurt een terugbetaling meestal?",
        "Ik wil mijn account sluiten, ik heb het niet meer nodig.",
        "Kan ik een tweede simkaart aan mijn abonnement toevoegen?",
        "Wat zijn jullie openingstijden?",
    ]),
    Category("neg_positive", L(POS, 0, 0, 0), context=False, en=[
        "Thanks, that fixed it!",
        "Great service, you've been really helpful.",
        "Perfect, thank you so much!",
        "Brilliant, it works now.",
        "You're a star, thanks for sorting that out.",
        "That was quick, much appreciated.",
        "Lovely, have a nice day!",
        "Cheers, all good now.",
        "Wow, that was easy. Thanks!",
        "I'm really happy with the new plan.",
        "Thank you for being so patient with me.",
        "Excellent, exactly what I needed.",
        "Finally working again, you're amazing.",
        "Great, the refund just came through. Thank you!",
        "Super helpful chat, thanks a lot.",
    ], nl=[
        "Bedankt, het werkt weer!",
        "Top service, u heeft me echt geholpen.",
        "Perfect, heel erg bedankt!",
        "Geweldig, het doet het nu.",
        "Je bent een topper, bedankt voor het regelen.",
        "Dat ging snel, dank u wel.",
        "Fijn, nog een fijne dag!",
        "Super, alles is in orde nu.",
        "Wauw, dat was makkelijk. Dank je!",
        "Ik ben echt blij met het nieuwe abonnement.",
        "Bedankt voor uw geduld met mij.",
        "Uitstekend, precies wat ik nodig had.",
        "Eindelijk werkt het weer, jullie zijn geweldig.",
        "Mooi, de terugbetaling is net binnen. Dank u!",
        "Heel behulpzaam gesprek, hartelijk dank.",
    ]),
    Category("neg_human_mention", L(NEU, 0, 0, 0), en=[
        ("The agent I spoke to yesterday was really kind.", {"sentiment": POS}),
        ("Your colleague already helped me, thanks.", {"sentiment": POS}),
        "No need for a person, the bot solved it.",
        "I don't need to speak to anyone, just send me the form.",
        "My daughter will call you later on my behalf.",
        "Is the support team open on Sundays?",
        ("Who was the agent that handled my case? I want to compliment them.", {"sentiment": POS}),
        ("The engineer was very professional.", {"sentiment": POS}),
        "I spoke with Sarah earlier and she explained everything.",
        "Can the bot also help with billing questions?",
        "I'm happy to continue with the assistant.",
        "Do your staff work from home?",
        "The manager at the shop told me to check online.",
        "I'll ask my husband to phone you tomorrow.",
        "How many people work in your call centre?",
    ], nl=[
        ("De medewerker van gisteren was heel vriendelijk.", {"sentiment": POS}),
        ("Uw collega heeft me al geholpen, bedankt.", {"sentiment": POS}),
        "Ik hoef geen medewerker, de bot heeft het opgelost.",
        "Ik hoef niemand te spreken, stuur me gewoon het formulier.",
        "Mijn dochter belt straks namens mij.",
        "Is de klantenservice op zondag open?",
        ("Wie was de medewerker die mijn zaak behandelde? Ik wil een compliment geven.", {"sentiment": POS}),
        ("De monteur was heel professioneel.", {"sentiment": POS}),
        "Ik sprak eerder met Sanne en zij heeft alles uitgelegd.",
        "Kan de bot ook helpen met factuurvragen?",
        "Ik ga graag verder met de assistent.",
        "Werken jullie medewerkers thuis?",
        "De manager in de winkel zei dat ik online moest kijken.",
        "Ik vraag mijn man om jullie morgen te bellen.",
        "Hoeveel mensen werken er in jullie callcenter?",
    ]),
    Category("neg_profanity_situation", L(NEG, None, 0, 0), en=[
        "Damn, the app crashed again.",
        "Bloody hell, the bill is wrong.",
        "Ugh, this stupid router.",
        "Crap, I entered the wrong number.",
        "The damn website won't load.",
        "Oh hell, I forgot my password again.",
        "Shit, I missed the delivery.",
        "This bloody printer won't scan the form.",
        "Argh, the payment page froze.",
        "Dammit, wrong account number.",
    ], nl=[
        "Verdorie, de app is weer gecrasht.",
        "Shit, de factuur klopt niet.",
        "Pff, die stomme router.",
        "Balen, ik heb het verkeerde nummer ingevuld.",
        "Die rotwebsite laadt niet.",
        "Verdomme, wachtwoord weer vergeten.",
        "Kut, ik heb de bezorger gemist.",
        "Die klote printer wil het formulier niet scannen.",
        "Argh, de betaalpagina loopt vast.",
        "Potverdorie, verkeerd rekeningnummer.",
    ]),
    Category("neg_negated", L(NEU, 0, 0, 0), en=[
        "I'm not going to cancel, I just want to know the fee.",
        "I'm not angry, just curious why the price went up.",
        "No complaint, just a quick question about my bill.",
        "I'm happy to stay with you, but could you check my tariff?",
        "Don't worry, I'm not switching, I just need a new SIM.",
        "No need to escalate, it's a small thing.",
        "I don't want to make a fuss, I just noticed a typo in my name.",
        "Not urgent at all, whenever you have time.",
        "I'm not in a hurry, the letter can come next week.",
        "I won't be leaving, I just want the best deal.",
    ], nl=[
        "Ik ga niet opzeggen, ik wil alleen de kosten weten.",
        "Ik ben niet boos, ik vraag me alleen af waarom de prijs omhoog ging.",
        "Geen klacht hoor, gewoon een vraag over mijn factuur.",
        "Ik blijf graag klant, maar kunt u mijn tarief checken?",
        "Geen zorgen, ik stap niet over, ik heb alleen een nieuwe simkaart nodig.",
        "Geen reden om het hogerop te zoeken, het is iets kleins.",
        "Ik wil geen ophef maken, er staat alleen een typfout in mijn naam.",
        "Helemaal niet dringend, wanneer het u uitkomt.",
        "Ik heb geen haast, de brief mag volgende week komen.",
        "Ik ga niet weg, ik wil alleen de beste deal.",
    ]),
    Category("neg_topic_opening", L(NEU, 0, 0, 0), context=False, rows=2, en=[
        "I have a question about my {product}.",
        "I'm calling about my last invoice.",
        "It's about order {order}.",
        "Quick question regarding my {product}.",
        "I'd like some information about my {product}, please.",
        "I'm ringing about the letter I got this morning.",
        "This is about the engineer's visit yesterday.",
        "Can I ask something about my {product}?",
        "I got an email from you and I have a question about it.",
        "I'm contacting you about my home insurance.",
        "I wanted to check something on my {product}.",
        "Calling about the direct debit for this month.",
        "Just a question about my {product}, if that's ok.",
        "It's regarding my savings account.",
        "I'm phoning about my meter reading.",
        "This is about my daughter's phone contract, she asked me to call.",
        "I have a question about the new tariff.",
        "It's about the payment plan we set up.",
        "I'm writing about my {product}.",
        "Regarding my appointment next week.",
        "Hello, I'm calling regarding my {product}.",
        "Good morning, this is about my {product}.",
        "Hi, I'd like to talk about my pension.",
        "I'm getting in touch about a payment I made.",
        "It concerns the account I opened in March.",
        "I'm contacting you on behalf of my father about his {product}.",
        "Hi there, it's regarding the form I filled in online.",
        "I'm after some information about your opening hours.",
        "Hello, I wanted to ask something about my {product}.",
        "This is regarding my reference number.",
        "Can you help me with something on my {product}?",
        "I'd like to discuss my membership.",
        "Hi, it's about the voucher I received.",
        "Afternoon, a question about the app, please.",
        "I'm emailing about the quote you gave me.",
        "Hello, I need to update something on my {product}.",
    ], nl=[
        "Ik heb een vraag over mijn {product}.",
        "Ik bel over mijn laatste factuur.",
        "Het gaat om bestelling {order}.",
        "Korte vraag over mijn {product}.",
        "Ik wil graag wat informatie over mijn {product}.",
        "Ik bel naar aanleiding van de brief die ik vanochtend kreeg.",
        "Het gaat over het bezoek van de monteur gisteren.",
        "Mag ik iets vragen over mijn {product}?",
        "Ik kreeg een mail van jullie en heb daar een vraag over.",
        "Ik neem contact op over mijn inboedelverzekering.",
        "Ik wilde iets nakijken op mijn {product}.",
        "Ik bel over de automatische incasso van deze maand.",
        "Even een vraagje over mijn {product}, als het mag.",
        "Het gaat over mijn spaarrekening.",
        "Ik bel over mijn meterstand.",
        "Het gaat om het telefoonabonnement van mijn dochter, zij vroeg mij te bellen.",
        "Ik heb een vraag over het nieuwe tarief.",
        "Het gaat om de betalingsregeling die we hebben afgesproken.",
        "Ik schrijf over mijn {product}.",
        "In verband met mijn afspraak volgende week.",
        "Hallo, ik bel in verband met mijn {product}.",
        "Goedemorgen, dit gaat over mijn {product}.",
        "Hoi, ik wil het even hebben over mijn pensioen.",
        "Ik neem contact op over een betaling die ik heb gedaan.",
        "Het betreft de rekening die ik in maart heb geopend.",
        "Ik bel namens mijn vader over zijn {product}.",
        "Hallo, het gaat over het formulier dat ik online heb ingevuld.",
        "Ik zoek wat informatie over jullie openingstijden.",
        "Hallo, ik wilde iets vragen over mijn {product}.",
        "Dit gaat over mijn referentienummer.",
        "Kunt u mij helpen met iets op mijn {product}?",
        "Ik wil graag mijn lidmaatschap bespreken.",
        "Hoi, het gaat om de tegoedbon die ik kreeg.",
        "Middag, een vraag over de app.",
        "Ik mail over de offerte die jullie me gaven.",
        "Hallo, ik moet iets aanpassen op mijn {product}.",
    ]),
    Category("neg_filler", L(NEU, 0, 0, 0), context=False, en=[
        "Yes, please.",
        "Okay.",
        "Alright, go ahead.",
        "Just a second, I'm looking for it.",
        "Let me check, hang on.",
        "Yep, that's correct.",
        "No, nothing else.",
        "My date of birth is the 4th of May.",
        "The account number starts with 77.",
        "Could you say that again?",
        "Are you still there?",
        "Hmm, let me think.",
        "Right, I see.",
        "Yes, I'm the account holder.",
        "Give me a minute to find the letter.",
        "That's the one.",
        "It was around two weeks ago.",
        "I'm not sure, maybe.",
        "Uh, yes.",
        "Mhm.",
    ], nl=[
        "Ja, graag.",
        "Oké.",
        "Goed, gaat uw gang.",
        "Eén seconde, ik zoek het even op.",
        "Even kijken, wacht.",
        "Jep, dat is correct.",
        "Nee, verder niets.",
        "Mijn geboortedatum is 4 mei.",
        "Het rekeningnummer begint met 77.",
        "Kunt u dat nog eens zeggen?",
        "Bent u er nog?",
        "Hmm, even denken.",
        "Juist, ik snap het.",
        "Ja, ik ben de rekeninghouder.",
        "Geef me een minuutje om de brief te zoeken.",
        "Die is het.",
        "Het was ongeveer twee weken geleden.",
        "Ik weet het niet zeker, misschien.",
        "Eh, ja.",
        "Mhm.",
    ]),
    # Telephony words in a sense other than "get me a person": a line, a call, a transfer, an operator. Every
    # human request above says "line", "phone me", "put me through", "transfer me", so without these rows a
    # turn about a phone line or a number transfer scored as a request for a person (rule 38). Appended
    # after the earlier categories, so their rows are drawn exactly as before (one RNG walks the list in order).
    Category("neg_call_words", L(NEU, 0, 0, 0), en=[
        ("My landline has been crackling since the storm.", {"sentiment": NEG}),
        "I want to transfer my number to a new SIM card.",
        "Can you transfer the balance to my savings account?",
        "Is this call being recorded?",
        ("The line keeps dropping when I'm on a call.", {"sentiment": NEG}),
        "Could you connect my new router to the account?",
        "Please put my contract on hold while I'm abroad.",
        "Which operator does my SIM use when I'm roaming in Spain?",
        "I'd like to talk about upgrading my {product}.",
        ("My phone shows no signal at home.", {"sentiment": NEG}),
        "Can we continue in Spanish? My English isn't great.",
        "How much does it cost to call abroad on my plan?",
        "Can you give me the phone number of the repair shop?",
        "My mum wants to be added as a second user on the line.",
        ("The call quality on my mobile is terrible lately.", {"sentiment": NEG}),
        "Is there a charge for calling your helpline from a mobile?",
        "I'd like to set up call forwarding to my work phone.",
        "Can you check if my line is on the new fibre network?",
        ("Someone from your team already called me, it's sorted.", {"sentiment": POS}),
        ("I keep getting spam calls, can I block a number?", {"sentiment": NEG}),
        "Please send the technician's report to my email.",
        "What time does the engineer usually arrive?",
        "Can I take my line with me when I move house?",
        "I'd rather sort this out here in the chat, no need to call me.",
        ("My voicemail hasn't worked since the update.", {"sentiment": NEG}),
    ], nl=[
        ("Mijn vaste lijn kraakt sinds de storm.", {"sentiment": NEG}),
        "Ik wil mijn nummer overzetten naar een nieuwe simkaart.",
        "Kunt u het saldo overboeken naar mijn spaarrekening?",
        "Wordt dit gesprek opgenomen?",
        ("De verbinding valt steeds weg als ik aan het bellen ben.", {"sentiment": NEG}),
        "Kunt u mijn nieuwe router aan het account koppelen?",
        "Zet mijn abonnement alstublieft stil terwijl ik in het buitenland ben.",
        "Welke provider gebruikt mijn simkaart als ik in Spanje ben?",
        "Ik wil het graag hebben over het upgraden van mijn {product}.",
        ("Mijn telefoon heeft thuis geen bereik.", {"sentiment": NEG}),
        "Kunnen we in het Engels verder? Mijn Nederlands is niet zo goed.",
        "Wat kost bellen naar het buitenland met mijn bundel?",
        "Kunt u mij het telefoonnummer van de reparateur geven?",
        "Mijn moeder wil als tweede gebruiker op de lijn.",
        ("De belkwaliteit op mijn mobiel is de laatste tijd slecht.", {"sentiment": NEG}),
        "Kost het iets om jullie helpdesk vanaf een mobiel te bellen?",
        "Ik wil doorschakelen naar mijn werktelefoon instellen.",
        "Kunt u kijken of mijn aansluiting al op glasvezel zit?",
        ("Iemand van jullie team heeft me al gebeld, het is opgelost.", {"sentiment": POS}),
        ("Ik krijg steeds spamtelefoontjes, kan ik een nummer blokkeren?", {"sentiment": NEG}),
        "Stuur het rapport van de monteur alstublieft naar mijn e-mail.",
        "Hoe laat komt de monteur meestal?",
        "Kan ik mijn aansluiting meenemen als ik verhuis?",
        "Ik los het liever hier in de chat op, u hoeft me niet te bellen.",
        ("Mijn voicemail werkt niet meer sinds de update.", {"sentiment": NEG}),
    ]),
    # Short "<thing>, please." turns: the shape of "A person, please." with something else in it (rule 40). Appended
    # last for the same reason: new categories go at the end of the list.
    Category("neg_short_please", L(NEU, 0, 0, 0), context=False, en=[
        "The bill, please.",
        "By email, please.",
        "A refund, please.",
        "Slower, please.",
        "Say that again, please.",
        "The cheaper one, please.",
        "Just the invoice please.",
        "Two minutes, please, I'm driving.",
        "Spell it for me, please.",
        "Monthly payments, please.",
        "A paper copy please.",
        "Text me the code, please.",
        "Cancel the extra bundle, please.",
        "Louder please, I can't hear you.",
        "Tomorrow morning, please.",
        "The same address, please.",
        "Bear with me a second, please.",
        "Paper statements, please.",
        "Quickly please, my battery is low.",
        "English please.",
        "Repeat the last part please.",
        "Give me a sec please.",
        "The first option, please.",
        "Next week please.",
        "In writing, please.",
    ], nl=[
        "De factuur, graag.",
        "Per e-mail graag.",
        "Een terugbetaling, alstublieft.",
        "Iets langzamer graag.",
        "Kunt u dat herhalen, alstublieft?",
        "De goedkoopste graag.",
        "Alleen de factuur graag.",
        "Twee minuutjes graag, ik zit in de auto.",
        "Wilt u het spellen, alstublieft?",
        "Maandelijks betalen graag.",
        "Een papieren kopie graag.",
        "Stuur de code per sms, alstublieft.",
        "Zeg de extra bundel maar op, graag.",
        "Harder graag, ik versta u niet.",
        "Morgenochtend graag.",
        "Hetzelfde adres graag.",
        "Heel even geduld alstublieft.",
        "Papieren afschriften graag.",
        "Snel graag, mijn batterij is bijna leeg.",
        "In het Engels graag.",
        "Het laatste stuk nog eens graag.",
        "Geef me even een seconde.",
        "De eerste optie graag.",
        "Volgende week graag.",
        "Schriftelijk graag.",
    ]),
]

# context sentences (sentiment they carry); never change a binary label
CONTEXTS: dict[str, list[tuple[str, int]]] = {
    "en": [
        ("My internet has been down since Monday.", NEG), ("I'm calling about my last invoice.", NEU),
        ("I ordered a new phone two weeks ago.", NEU), ("My card was declined at the shop.", NEG),
        ("I moved house last month.", NEU), ("The meter reading on my bill is wrong.", NEG),
        ("I was charged for something I didn't order.", NEG), ("My parcel still hasn't arrived.", NEG),
        ("It's about the refund for order {order}.", NEU), ("I have a question about my {product}.", NEU),
        ("The engineer came yesterday.", NEU), ("I got a letter from you this morning.", NEU),
    ],
    "nl": [
        ("Mijn internet ligt er sinds maandag uit.", NEG), ("Ik bel over mijn laatste factuur.", NEU),
        ("Ik heb twee weken geleden een nieuwe telefoon besteld.", NEU), ("Mijn pas werd geweigerd in de winkel.", NEG),
        ("Ik ben vorige maand verhuisd.", NEU), ("De meterstand op mijn factuur klopt niet.", NEG),
        ("Er is iets afgeschreven dat ik niet besteld heb.", NEG), ("Mijn pakket is nog steeds niet bezorgd.", NEG),
        ("Het gaat om de terugbetaling van bestelling {order}.", NEU), ("Ik heb een vraag over mijn {product}.", NEU),
        ("De monteur is gisteren geweest.", NEU), ("Ik kreeg vanochtend een brief van jullie.", NEU),
    ],
}
GREETINGS = {"en": ["Hi,", "Hello,", "Hi there.", "Good morning,", "Hey,", "Dear team,", "Hello?", "Excuse me,"],
             "nl": ["Hoi,", "Hallo,", "Goedemiddag,", "Goedemorgen,", "Beste,", "Hey,", "Hallo?", "Dag,"]}
TAILS = {"en": [" Thanks.", " Please.", " ASAP.", " Thank you.", " Cheers.", " Today please."],
         "nl": [" Bedankt.", " Alstublieft.", " Graag snel.", " Dank u.", " Groet.", " Vandaag graag."]}

SPLITS = ("train", "val", "test")
PER_CATEGORY = {"train": 160, "val": 40, "test": 60}  # per category per language, before de-duplication


def template_fold(idx: int) -> str:
    return ("train", "train", "train", "val", "test")[idx % 5]


def slot_allowed(idx: int, split: str) -> bool:
    """Every 4th slot value is reserved for the test split."""
    return (idx % 4 == 3) == (split == "test")


def _fill(text: str, lang: str, split: str, rng: random.Random) -> str:
    def repl(m: re.Match[str]) -> str:
        vals = SLOTS[m.group(1)][lang]
        allowed = [v for i, v in enumerate(vals) if slot_allowed(i, split)]
        return rng.choice(allowed)

    return re.sub(r"\{(\w+)\}", repl, text)


def _typo(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    cands = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if not cands:
        return text
    i = rng.choice(cands)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    swap = rng.random() < 0.5
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :] if swap else w[:j] + w[j + 1 :]
    return " ".join(words)


def _noise(text: str, lang: str, cat: Category, rng: random.Random) -> str:
    if lang == "en" and rng.random() < 0.1:
        text = re.sub(r"\byou\b", "u", text)
    if rng.random() < 0.15:
        text = _typo(text, rng)
    r = rng.random()
    if cat.shout and r < 0.12:
        text = text.upper()
    elif r < 0.25:
        text = text.lower()
    if rng.random() < 0.15:
        text = text.rstrip(".!?")
    return text


def generate_split(split: str, seed: int = 13) -> list[dict]:
    rng = random.Random(f"{seed}:{split}")
    rows: list[dict] = []
    seen: set[str] = set()
    for cat in CATEGORIES:
        for lang in ("en", "nl"):
            templates = [t for i, t in enumerate(getattr(cat, lang)) if template_fold(i) == split]
            contexts = [c for i, c in enumerate(CONTEXTS[lang]) if slot_allowed(i, split)]
            if not templates:
                continue
            made = 0
            for _ in range(PER_CATEGORY[split] * cat.rows * 3):
                if made >= PER_CATEGORY[split] * cat.rows:
                    break
                tpl = rng.choice(templates)
                text, over = (tpl, {}) if isinstance(tpl, str) else tpl
                labels = {**cat.labels, **over}
                core = _fill(text, lang, split, rng)
                parts = []
                if cat.speaker == "customer" and rng.random() < 0.3:
                    parts.append(rng.choice(GREETINGS[lang]))
                if cat.context and rng.random() < 0.35:
                    ctx, ctx_sent = rng.choice(contexts)
                    # A neutral topic sentence ("I'm calling about my last invoice.") must not mean "trouble
                    # follows": drawn evenly, it stood in front of escalation rows 1.8 times as often as in
                    # front of routine ones, since more categories escalate. Half of those are dropped.
                    if not (ctx_sent == NEU and labels["escalation"] == 1 and rng.random() < 0.5):
                        parts.append(_fill(ctx, lang, split, rng))
                        if ctx_sent == NEG and labels["sentiment"] == NEU:
                            labels["sentiment"] = NEG
                parts.append(core)
                for i in range(1, len(parts)):  # "Hi, my internet..." rather than "Hi, My internet..."
                    if parts[i - 1].endswith(",") and not parts[i][:2].isupper():
                        parts[i] = parts[i][:1].lower() + parts[i][1:]
                out = " ".join(parts)
                if cat.speaker == "customer" and labels["sentiment"] != POS and rng.random() < 0.12:
                    out += rng.choice(TAILS[lang])
                out = _noise(out, lang, cat, rng)
                key = out.lower()
                if key in seen:
                    continue
                seen.add(key)
                made += 1
                rows.append({"text": out, "lang": lang, "speaker": cat.speaker, "category": cat.name,
                             "labels": labels})
    return rows


def generate(seed: int = 13) -> dict[str, list[dict]]:
    out = {s: generate_split(s, seed) for s in SPLITS}
    train_texts = {r["text"].lower() for r in out["train"]}
    for s in ("val", "test"):  # no exact overlap with training text
        out[s] = [r for r in out[s] if r["text"].lower() not in train_texts]
    return out


def write(out_dir: Path, seed: int = 13) -> dict[str, int]:
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for split, rows in generate(seed).items():
        with (out_dir / f"synth_{split}.jsonl").open("w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
        counts[split] = len(rows)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data")
    ap.add_argument("--seed", type=int, default=13)
    a = ap.parse_args()
    print(write(a.out, a.seed))


if __name__ == "__main__":
    main()
