//! The words of the authorization pages in the languages `ui_locales` can
//! choose (OIDC Core §3.1.2.1): English, Spanish, French and Norwegian
//! Bokmål. `{client}`, `{number}`, `{purpose}` and `{n}` are filled in by
//! the page.

use crate::pages::Lang;

pub struct Texts {
    pub login_title: &'static str,
    pub login_lead: &'static str,
    pub number_label: &'static str,
    pub send_prompt: &'static str,
    pub send_code: &'static str,
    pub cancel: &'static str,
    pub wait_title: &'static str,
    pub wait_lead: &'static str,
    pub check_again: &'static str,
    pub other_number: &'static str,
    pub code_title: &'static str,
    pub code_lead: &'static str,
    pub code_label: &'static str,
    pub next: &'static str,
    pub code_wrong: &'static str,
    pub start_again: &'static str,
    pub confirm_title: &'static str,
    pub confirm_lead: &'static str,
    pub consent_title: &'static str,
    pub consent_lead: &'static str,
    pub consent_also: &'static str,
    pub consent_note: &'static str,
    pub allow: &'static str,
    pub deny: &'static str,
    pub bad_number: &'static str,
}

const EN: Texts = Texts {
    login_title: "Sign in with your mobile number",
    login_lead: "{client} wants to know it is you. Your mobile line could not be recognised (are you on Wi-Fi?): enter your mobile number and confirm on your phone.",
    number_label: "Mobile number",
    send_prompt: "Send a request to my phone",
    send_code: "Send me a code",
    cancel: "Cancel",
    wait_title: "Check your phone",
    wait_lead: "A request was sent to {number}. Approve it on your phone; this page goes on by itself.",
    check_again: "I have approved it",
    other_number: "Use another number",
    code_title: "Enter the code",
    code_lead: "A code was sent to {number}. Type it here.",
    code_label: "Code",
    next: "Continue",
    code_wrong: "That code is not right. Attempts left: {n}.",
    start_again: "Please start again: too many wrong codes, or the request expired.",
    confirm_title: "Confirm it is you",
    confirm_lead: "Your mobile line identifies you as {number}. Continue to {client}?",
    consent_title: "Allow access?",
    consent_lead: "{client} asks to use the following, for: {purpose}.",
    consent_also: "Also part of this request (no consent needed):",
    consent_note: "Untick what you do not want to share. You can withdraw your consent at any time.",
    allow: "Allow",
    deny: "Deny",
    bad_number: "That does not look like a mobile number. Write it with the country code, e.g. +47 900 00 001.",
};

const ES: Texts = Texts {
    login_title: "Inicia sesión con tu número de móvil",
    login_lead: "{client} quiere saber que eres tú. No se ha podido reconocer tu línea móvil (¿estás en una red wifi?): escribe tu número de móvil y confirma en tu teléfono.",
    number_label: "Número de móvil",
    send_prompt: "Enviar una solicitud a mi teléfono",
    send_code: "Enviarme un código",
    cancel: "Cancelar",
    wait_title: "Mira tu teléfono",
    wait_lead: "Se ha enviado una solicitud al {number}. Apruébala en tu teléfono; esta página continuará sola.",
    check_again: "Ya la he aprobado",
    other_number: "Usar otro número",
    code_title: "Escribe el código",
    code_lead: "Se ha enviado un código al {number}. Escríbelo aquí.",
    code_label: "Código",
    next: "Continuar",
    code_wrong: "El código no es correcto. Intentos restantes: {n}.",
    start_again: "Empieza de nuevo: demasiados códigos erróneos, o la solicitud ha caducado.",
    confirm_title: "Confirma que eres tú",
    confirm_lead: "Tu línea móvil te identifica como {number}. ¿Continuar a {client}?",
    consent_title: "¿Permitir el acceso?",
    consent_lead: "{client} solicita usar lo siguiente, con esta finalidad: {purpose}.",
    consent_also: "También forma parte de la solicitud (no requiere consentimiento):",
    consent_note: "Desmarca lo que no quieras compartir. Puedes retirar tu consentimiento en cualquier momento.",
    allow: "Permitir",
    deny: "Denegar",
    bad_number: "No parece un número de móvil. Escríbelo con el prefijo del país, p. ej. +34 600 000 001.",
};

const FR: Texts = Texts {
    login_title: "Connectez-vous avec votre numéro de mobile",
    login_lead: "{client} veut s'assurer que c'est bien vous. Votre ligne mobile n'a pas pu être reconnue (êtes-vous en Wi-Fi ?) : saisissez votre numéro de mobile et confirmez sur votre téléphone.",
    number_label: "Numéro de mobile",
    send_prompt: "Envoyer une demande à mon téléphone",
    send_code: "M'envoyer un code",
    cancel: "Annuler",
    wait_title: "Regardez votre téléphone",
    wait_lead: "Une demande a été envoyée au {number}. Acceptez-la sur votre téléphone ; cette page continuera d'elle-même.",
    check_again: "Je l'ai acceptée",
    other_number: "Utiliser un autre numéro",
    code_title: "Saisissez le code",
    code_lead: "Un code a été envoyé au {number}. Saisissez-le ici.",
    code_label: "Code",
    next: "Continuer",
    code_wrong: "Ce code n'est pas le bon. Essais restants : {n}.",
    start_again: "Recommencez : trop de codes erronés, ou la demande a expiré.",
    confirm_title: "Confirmez votre identité",
    confirm_lead: "Votre ligne mobile vous identifie comme {number}. Continuer vers {client} ?",
    consent_title: "Autoriser l'accès ?",
    consent_lead: "{client} demande à utiliser ce qui suit, pour la finalité : {purpose}.",
    consent_also: "Fait aussi partie de la demande (sans consentement nécessaire) :",
    consent_note: "Décochez ce que vous ne souhaitez pas partager. Vous pouvez retirer votre consentement à tout moment.",
    allow: "Autoriser",
    deny: "Refuser",
    bad_number: "Ce n'est pas un numéro de mobile. Saisissez-le avec l'indicatif du pays, p. ex. +33 6 12 34 56 78.",
};

const NB: Texts = Texts {
    login_title: "Logg inn med mobilnummeret ditt",
    login_lead: "{client} vil vite at det er deg. Mobillinjen din ble ikke gjenkjent (er du på wifi?): skriv inn mobilnummeret ditt og bekreft på telefonen.",
    number_label: "Mobilnummer",
    send_prompt: "Send en forespørsel til telefonen min",
    send_code: "Send meg en kode",
    cancel: "Avbryt",
    wait_title: "Sjekk telefonen din",
    wait_lead: "En forespørsel er sendt til {number}. Godkjenn den på telefonen; denne siden fortsetter av seg selv.",
    check_again: "Jeg har godkjent den",
    other_number: "Bruk et annet nummer",
    code_title: "Skriv inn koden",
    code_lead: "En kode er sendt til {number}. Skriv den inn her.",
    code_label: "Kode",
    next: "Fortsett",
    code_wrong: "Koden er feil. Forsøk igjen: {n}.",
    start_again: "Begynn på nytt: for mange feil koder, eller forespørselen er utløpt.",
    confirm_title: "Bekreft at det er deg",
    confirm_lead: "Mobillinjen din identifiserer deg som {number}. Fortsette til {client}?",
    consent_title: "Gi tilgang?",
    consent_lead: "{client} ber om å bruke følgende, til formålet: {purpose}.",
    consent_also: "Også en del av forespørselen (krever ikke samtykke):",
    consent_note: "Fjern haken for det du ikke vil dele. Du kan trekke tilbake samtykket når som helst.",
    allow: "Tillat",
    deny: "Avslå",
    bad_number: "Dette ser ikke ut som et mobilnummer. Skriv det med landskode, f.eks. +47 900 00 001.",
};

pub fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::En => &EN,
        Lang::Es => &ES,
        Lang::Fr => &FR,
        Lang::Nb => &NB,
    }
}

/// What a scope lets the client do, in words; the scope itself when it has
/// no description here.
pub fn scope_label(lang: Lang, scope: &str) -> String {
    let [en, es, fr, nb] = match scope {
        "openid" => {
            ["Confirm who you are", "Confirmar quién eres", "Confirmer qui vous êtes", "Bekrefte hvem du er"]
        }
        "phone" => {
            ["Your mobile number", "Tu número de móvil", "Votre numéro de mobile", "Mobilnummeret ditt"]
        }
        "offline_access" => [
            "Keep access while you are not using the app",
            "Mantener el acceso cuando no uses la aplicación",
            "Garder l'accès quand vous n'utilisez pas l'application",
            "Beholde tilgangen når du ikke bruker appen",
        ],
        "sim-swap" | "sim-swap:check" | "sim-swap:retrieve-date" => [
            "When your SIM card was last changed",
            "Cuándo se cambió tu tarjeta SIM por última vez",
            "La date du dernier changement de votre carte SIM",
            "Når SIM-kortet ditt sist ble byttet",
        ],
        "number-verification:verify" => [
            "Check that a number is the one of this phone",
            "Comprobar que un número es el de este teléfono",
            "Vérifier qu'un numéro est celui de ce téléphone",
            "Sjekke at et nummer er nummeret til denne telefonen",
        ],
        "number-verification:device-phone-number:read" => [
            "The number of this phone",
            "El número de este teléfono",
            "Le numéro de ce téléphone",
            "Nummeret til denne telefonen",
        ],
        other => return other.to_owned(),
    };
    match lang {
        Lang::En => en,
        Lang::Es => es,
        Lang::Fr => fr,
        Lang::Nb => nb,
    }
    .to_owned()
}

/// A purpose in words: the known ones translated, others split from their
/// CamelCase name (`dpv:FraudPreventionAndDetection` → `Fraud prevention
/// and detection`).
pub fn purpose_label(lang: Lang, purpose: &str) -> String {
    let name = purpose.strip_prefix("dpv:").unwrap_or(purpose);
    let known = match name {
        "RequestedServiceProvision" => Some([
            "Providing the service you asked for",
            "Prestar el servicio que has pedido",
            "Fournir le service que vous avez demandé",
            "Levere tjenesten du har bedt om",
        ]),
        "FraudPreventionAndDetection" => Some([
            "Fraud prevention and detection",
            "Prevención y detección del fraude",
            "Prévention et détection de la fraude",
            "Forebygging og avdekking av svindel",
        ]),
        "IdentityVerification" => Some([
            "Verifying your identity",
            "Verificar tu identidad",
            "Vérifier votre identité",
            "Bekrefte identiteten din",
        ]),
        _ => None,
    };
    if let Some([en, es, fr, nb]) = known {
        return match lang {
            Lang::En => en,
            Lang::Es => es,
            Lang::Fr => fr,
            Lang::Nb => nb,
        }
        .to_owned();
    }
    let mut out = String::with_capacity(name.len() + 8);
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A number shown on a page, all but the country code and the last two
/// digits hidden: whoever holds the page may not be the line's owner.
pub fn masked_number(msisdn: &str) -> String {
    let chars: Vec<char> = msisdn.chars().collect();
    let n = chars.len();
    chars.iter().enumerate().map(|(i, c)| if i < 3 || i + 2 >= n { *c } else { '•' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_its_words() {
        for l in Lang::ALL {
            let t = texts(l);
            assert!(t.login_lead.contains("{client}") && t.wait_lead.contains("{number}"));
            assert!(t.code_wrong.contains("{n}") && t.consent_lead.contains("{purpose}"));
            assert!(!scope_label(l, "phone").is_empty());
        }
        assert_eq!(scope_label(Lang::Nb, "phone"), "Mobilnummeret ditt");
        assert_eq!(scope_label(Lang::Es, "x:y"), "x:y");
        assert_eq!(purpose_label(Lang::En, "dpv:SomeNewPurpose"), "Some new purpose");
        assert_eq!(masked_number("+34600000003"), "+34•••••••03");
    }
}
