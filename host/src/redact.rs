//! Keeping secrets out of what logpipe prints: a URL's password is masked
//! wherever a URL is shown (logs, errors, `config show`).

/// Hides the password of any `scheme://user:password@host` in `text`.
pub fn mask_url_password(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        let end = rest.find(['/', ',', ' ']).unwrap_or(rest.len());
        let authority = &rest[..end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..colon]);
                out.push_str(":******");
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_masked_wherever_they_are() {
        assert_eq!(
            mask_url_password("es:http://bob:s3cret@db:9200,https://al:p@x/"),
            "es:http://bob:******@db:9200,https://al:******@x/"
        );
        assert_eq!(
            mask_url_password("error sending request for url (http://bob:s3cret@db:9200/_bulk)"),
            "error sending request for url (http://bob:******@db:9200/_bulk)"
        );
        assert_eq!(
            mask_url_password("http://db:9200 no secret"),
            "http://db:9200 no secret"
        );
    }
}
