//! The optional basemap: a tile URL template the page may fetch from, and the attribution shown
//! with it. The template is checked strictly because its host goes into the page's
//! Content-Security-Policy, which then allows images from that host and nothing else.

/// A checked tile server: Leaflet's `{z}/{x}/{y}` template and its attribution text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tiles {
    url: String,
    attribution: String,
    /// The CSP source that matches the template's host: `https://tiles.example.org`, or
    /// `https://*.tile.example.org` for a `{s}.` subdomain template.
    source: String,
}

impl Tiles {
    /// Checks `template` (http or https, `{z}`, `{x}` and `{y}` or `{-y}`, a plain host) and
    /// `attribution` (not empty: tile servers' terms ask for it). The message says what is wrong.
    pub fn new(template: &str, attribution: &str) -> Result<Self, String> {
        let bad = |why: &str| Err(format!("--tiles {template:?}: {why}"));
        let (scheme, rest) = match template.split_once("://") {
            Some((s @ ("http" | "https"), rest)) => (s, rest),
            _ => return bad("the template must start with http:// or https://"),
        };
        if let Some(c) = template
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || "\"'<>\\;,`^|".contains(*c))
        {
            return bad(&format!("{c:?} is not allowed in a tile URL"));
        }
        if !(template.contains("{z}") && template.contains("{x}"))
            || !(template.contains("{y}") || template.contains("{-y}"))
        {
            return bad("the template needs {z}, {x} and {y} (or {-y})");
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let (wildcard, host) = match authority.strip_prefix("{s}.") {
            Some(host) => (true, host),
            None => (false, authority),
        };
        if host.contains(['{', '}', '@']) {
            return bad("the host may only start with {s}. (no other placeholders, no user name)");
        }
        let parsed = url::Url::parse(&format!("{scheme}://{host}/"))
            .map_err(|e| format!("--tiles {template:?}: bad host {host:?}: {e}"))?;
        let Some(name) = parsed.host_str().filter(|h| !h.is_empty()) else {
            return bad("the template has no host");
        };
        let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
        let attribution = attribution.trim();
        if attribution.is_empty() {
            return Err(
                "--tiles needs --tiles-attribution (the tile server's credit line, e.g. \
                 \"© OpenStreetMap contributors\"): tile servers' terms require it on the map"
                    .to_string(),
            );
        }
        Ok(Self {
            url: template.to_string(),
            attribution: attribution.to_string(),
            source: format!("{scheme}://{}{name}{port}", if wildcard { "*." } else { "" }),
        })
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The attribution as HTML text: Leaflet writes attributions with `innerHTML`, so the user's
    /// text is escaped here and shows exactly as typed.
    pub(crate) fn attribution_html(&self) -> String {
        escape_html(&self.attribution)
    }

    /// The CSP source the page's `img-src` allows.
    pub(crate) fn csp_source(&self) -> &str {
        &self.source
    }
}

/// Escapes the five characters that are markup in HTML text and attributes (the SVG writer's escape:
/// `&apos;` is HTML5 too, and control characters become U+FFFD either way).
pub(crate) fn escape_html(s: &str) -> String {
    super::super::svg::xml_escape(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OSM: &str = "© OpenStreetMap contributors";

    #[test]
    fn good_templates_give_their_host_as_csp_source() {
        let cases = [
            (
                "https://tiles.example.org/{z}/{x}/{y}.png",
                "https://tiles.example.org",
            ),
            (
                "http://127.0.0.1:8080/osm/{z}/{x}/{y}.png",
                "http://127.0.0.1:8080",
            ),
            (
                "https://{s}.tile.example.org/{z}/{x}/{-y}.png?key=k",
                "https://*.tile.example.org",
            ),
            (
                "https://TILES.example.org:443/{z}/{x}/{y}",
                "https://tiles.example.org",
            ),
        ];
        for (template, source) in cases {
            let t = Tiles::new(template, OSM).unwrap();
            assert_eq!(t.csp_source(), source, "{template}");
            assert_eq!(t.url(), template);
        }
    }

    #[test]
    fn bad_templates_are_refused_with_the_reason() {
        let cases = [
            ("ftp://tiles.example.org/{z}/{x}/{y}.png", "http:// or https://"),
            ("tiles.example.org/{z}/{x}/{y}.png", "http:// or https://"),
            ("https://tiles.example.org/{z}/{x}.png", "{z}, {x} and {y}"),
            ("https://tiles.example.org/{x}/{y}.png", "{z}, {x} and {y}"),
            ("https://{z}.example.org/{z}/{x}/{y}.png", "only start with {s}."),
            ("https://user@example.org/{z}/{x}/{y}.png", "only start with {s}."),
            ("https:///{z}/{x}/{y}.png", "host"),
            ("https://a b/{z}/{x}/{y}.png", "not allowed"),
            ("https://ex.org/{z}/{x}/{y}.png;script-src *", "not allowed"),
            ("https://ex.org/{z}/{x}/{y}\"><script>", "not allowed"),
        ];
        for (template, why) in cases {
            let err = Tiles::new(template, OSM).unwrap_err();
            assert!(err.contains(why), "{template}: {err}");
        }
    }

    #[test]
    fn an_attribution_is_required_and_escaped() {
        let t = "https://tiles.example.org/{z}/{x}/{y}.png";
        assert!(Tiles::new(t, "  ").unwrap_err().contains("--tiles-attribution"));
        let tiles = Tiles::new(t, "<img src=x onerror=alert(1)> & 'A' \"B\"").unwrap();
        assert_eq!(
            tiles.attribution_html(),
            "&lt;img src=x onerror=alert(1)&gt; &amp; &apos;A&apos; &quot;B&quot;"
        );
    }
}
