//! The command line's `--name value` flags, shared by every subcommand.

/// `--name value` pairs after the positional arguments.
pub struct Flags(Vec<(String, Option<String>)>);

impl Flags {
    /// Parses `--name [value]` pairs; any name outside `known` is an error.
    pub fn parse(args: &[String], known: &[&str]) -> Result<Flags, String> {
        let mut flags = Vec::new();
        let mut iter = args.iter().peekable();
        while let Some(arg) = iter.next() {
            let name = arg
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {arg}"))?;
            if !known.contains(&name) {
                return Err(format!("unknown flag --{name}"));
            }
            let value = match iter.peek() {
                Some(v) if !v.starts_with("--") => iter.next().cloned(),
                _ => None,
            };
            flags.push((name.to_owned(), value));
        }
        Ok(Flags(flags))
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    pub fn num<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        self.get(name)
            .map(|v| v.parse().map_err(|_| format!("bad --{name} {v}")))
            .transpose()
    }
}
