using System.Globalization;
using System.Text.RegularExpressions;
using Tomlyn;
using Tomlyn.Model;

namespace Airlock.Inspection;

/// <summary>Reads gitleaks-format TOML into a <see cref="RulePack"/>, collecting every error before failing.</summary>
internal sealed class RulePackReader
{
    private static readonly HashSet<string> s_topLevelKeys = new(StringComparer.Ordinal)
    {
        "title", "description", "version", "minVersion", "extend", "rules", "allowlist", "allowlists",
    };

    private static readonly HashSet<string> s_ruleKeys = new(StringComparer.Ordinal)
    {
        "id", "description", "regex", "secretGroup", "entropy", "keywords", "path", "tags", "allowlist", "allowlists",
        "required", "skipReport", "category", "confidence", "identifiable", "validate", "keywordAnchor",
        "keywordAssignment",
    };

    // gitleaks keys Airlock accepts but has no use for (git history scanning).
    private static readonly HashSet<string> s_ignoredAllowlistKeys = new(StringComparer.Ordinal) { "commits" };

    private readonly string _source;
    private readonly bool _isBuiltIn;
    private readonly List<string> _errors = [];
    private readonly List<string> _warnings = [];

    private RulePackReader(string source, bool isBuiltIn)
    {
        _source = source;
        _isBuiltIn = isBuiltIn;
    }

    public static RulePack Read(string toml, string source, bool isBuiltIn, string? baseDirectory)
        => new RulePackReader(source, isBuiltIn).ReadDocument(toml, baseDirectory);

    /// <summary>
    /// Reads an already parsed document with exactly the checks TOML text gets (the built-in pack's pre-parsed form,
    /// <see cref="BuiltInRuleData"/>, goes through here, so the two cannot differ in what a value means).
    /// </summary>
    public static RulePack ReadParsed(TomlTable document, string source, bool isBuiltIn, Func<string> version)
        => new RulePackReader(source, isBuiltIn).ReadTables(document, baseDirectory: null, version);

    private RulePack ReadDocument(string toml, string? baseDirectory)
    {
        TomlTable document;
        try
        {
            document = TomlSerializer.Deserialize<TomlTable>(toml, TomlTableContext.Instance) ?? [];
        }
        catch (TomlException ex)
        {
            if (ex.Diagnostics is { Count: > 0 } diagnostics)
            {
                foreach (var diagnostic in diagnostics)
                {
                    _errors.Add($"{_source}: line {diagnostic.Span.Start.Line + 1}, column {diagnostic.Span.Start.Column + 1}: invalid TOML: {diagnostic.Message}");
                }
            }
            else
            {
                _errors.Add($"{_source}: invalid TOML: {ex.Message}");
            }

            throw new RulePackException(_errors);
        }

        return ReadTables(document, baseDirectory, () => RulePack.ComputeVersion(toml));
    }

    private RulePack ReadTables(TomlTable document, string? baseDirectory, Func<string> version)
    {
        foreach (var key in document.Keys)
        {
            if (!s_topLevelKeys.Contains(key))
            {
                _warnings.Add($"{_source}: unknown top-level key '{key}' ignored");
            }
        }

        RulePack? basePack = null;
        var disabled = new List<string>();
        if (document.TryGetValue("extend", out var extendValue))
        {
            if (extendValue is TomlTable extend)
            {
                basePack = ReadExtend(extend, baseDirectory, disabled);
            }
            else
            {
                _errors.Add($"{_source}: [extend] must be a table");
            }
        }

        var rules = new List<SecretRule>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (document.TryGetValue("rules", out var rulesValue))
        {
            if (rulesValue is TomlTableArray ruleTables)
            {
                for (var index = 0; index < ruleTables.Count; index++)
                {
                    var rule = ReadRule(ruleTables[index], index);
                    if (rule is null)
                    {
                        continue;
                    }

                    if (!seen.Add(rule.Id))
                    {
                        _errors.Add($"{_source}: rule '{rule.Id}': duplicate id");
                        continue;
                    }

                    rules.Add(rule);
                }
            }
            else
            {
                _errors.Add($"{_source}: 'rules' must be an array of tables ([[rules]])");
            }
        }

        var globals = new List<RuleAllowlist>();
        if (document.TryGetValue("allowlist", out var single))
        {
            ReadAllowlists(single, "global [allowlist]", isGlobal: true, globals);
        }

        if (document.TryGetValue("allowlists", out var many))
        {
            ReadAllowlists(many, "global [[allowlists]]", isGlobal: true, globals);
        }

        if (basePack is not null && disabled.Count > 0)
        {
            basePack = basePack.WithoutRules(disabled);
        }

        CheckRequiredReferences(rules, basePack);
        if (_errors.Count > 0)
        {
            throw new RulePackException(_errors);
        }

        var pack = new RulePack(rules, globals, version, _warnings);
        if (basePack is not null)
        {
            pack = basePack.Merge(pack);
        }
        else if (disabled.Count > 0)
        {
            pack = pack.WithoutRules(disabled);
        }

        return pack;
    }

    private RulePack? ReadExtend(TomlTable extend, string? baseDirectory, List<string> disabled)
    {
        RulePack? basePack = null;
        if (GetBool(extend, "useDefault", "[extend]") == true)
        {
            try
            {
                basePack = RulePack.LoadBuiltIn();
            }
            catch (RulePackException ex)
            {
                _errors.Add($"{_source}: [extend] useDefault: the built-in pack failed to load ({ex.Errors.Count} error(s))");
                _errors.AddRange(ex.Errors);
            }
        }

        if (GetString(extend, "path", "[extend]") is { Length: > 0 } path)
        {
            var full = baseDirectory is null ? Path.GetFullPath(path) : Path.GetFullPath(path, baseDirectory);
            try
            {
                var extended = RulePack.LoadFile(full);
                basePack = basePack is null ? extended : basePack.Merge(extended);
            }
            catch (RulePackException ex)
            {
                _errors.AddRange(ex.Errors);
            }
        }

        disabled.AddRange(GetStrings(extend, "disabledRules", "[extend]"));
        return basePack;
    }

    private SecretRule? ReadRule(TomlTable table, int index)
    {
        var errorCount = _errors.Count;
        var id = GetString(table, "id", $"rule #{index + 1}")?.Trim();
        if (string.IsNullOrEmpty(id))
        {
            _errors.Add($"{_source}: rule #{index + 1}: missing 'id'");
            return null;
        }

        var context = $"rule '{id}'";
        foreach (var key in table.Keys)
        {
            if (!s_ruleKeys.Contains(key))
            {
                _warnings.Add($"{_source}: {context}: unknown key '{key}' ignored");
            }
        }

        var description = GetString(table, "description", context) ?? string.Empty;
        var pattern = GetString(table, "regex", context);
        var pathPattern = GetString(table, "path", context);
        var keywords = GetStrings(table, "keywords", context)
            .Select(k => k.Trim().ToLowerInvariant())
            .Where(k => k.Length > 0)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var tags = GetStrings(table, "tags", context);
        var secretGroup = GetInt(table, "secretGroup", context) ?? 0;
        var entropy = GetDouble(table, "entropy", context);
        var skipReport = GetBool(table, "skipReport", context) ?? false;
        var identifiable = GetBool(table, "identifiable", context) ?? false;
        var category = ParseCategory(GetString(table, "category", context), context);
        var confidence = ParseConfidence(GetString(table, "confidence", context), context);
        var validator = GetString(table, "validate", context);
        var keywordAnchor = GetInt(table, "keywordAnchor", context);
        var keywordAssignment = ParseKeywordAssignment(GetString(table, "keywordAssignment", context), context);

        if (string.IsNullOrEmpty(pattern) && string.IsNullOrEmpty(pathPattern))
        {
            AddError(context, "needs a 'regex' or a 'path'");
        }

        if (!string.IsNullOrEmpty(pattern) && keywords.Count == 0)
        {
            // gitleaks runs a keyword-less rule on every fragment, so an organization's config is accepted as is
            // (its regex is linear-time). The vetted built-in pack stays strict: its rules must stay cheap to skip.
            if (_isBuiltIn)
            {
                AddError(context, "missing 'keywords': every built-in regex rule needs at least one keyword (the prefilter only runs rules whose keyword occurs)");
            }
            else
            {
                _warnings.Add($"{_source}: rule '{id}' has no keywords: it runs on all text, which is slower");
            }
        }

        if (secretGroup < 0)
        {
            AddError(context, "'secretGroup' must be >= 0");
        }

        if (entropy is < 0 or > 16)
        {
            AddError(context, "'entropy' must be between 0 and 16 bits per character");
        }

        if (keywordAnchor is < 0 or > 64)
        {
            AddError(context, "'keywordAnchor' must be between 0 and 64 characters");
        }

        if (validator is not null && !SecretValidators.IsKnown(validator))
        {
            AddError(context, $"unknown validator '{validator}' (known: {string.Join(", ", SecretValidators.Names)})");
        }

        DeferredRegex? regex = null;
        GoRegexTranslation? translation = null;
        if (!string.IsNullOrEmpty(pattern))
        {
            regex = RuleRegexFactory.TryCreate(pattern, _isBuiltIn, out translation, out var regexError);
            if (regex is null)
            {
                AddError(context, regexError!);
            }
            else if (secretGroup > translation!.GoGroups.Count)
            {
                AddError(context, $"'secretGroup' {secretGroup} but the regex has only {translation.GoGroups.Count} group(s)");
            }
        }

        Regex? pathRegex = null;
        if (!string.IsNullOrEmpty(pathPattern))
        {
            pathRegex = CompileAuxiliary(pathPattern, context, "path")?.Value; // few rules have one: built now
        }

        var allowlists = new List<RuleAllowlist>();
        if (table.TryGetValue("allowlist", out var oldStyle))
        {
            ReadAllowlists(oldStyle, context + " [rules.allowlist]", isGlobal: false, allowlists);
        }

        if (table.TryGetValue("allowlists", out var newStyle))
        {
            ReadAllowlists(newStyle, context + " [[rules.allowlists]]", isGlobal: false, allowlists);
        }

        var required = ReadRequired(table, context);
        if (_errors.Count > errorCount)
        {
            return null;
        }

        var groupMap = BuildGroupMap(regex, translation);
        return new SecretRule(
            id, description, category, confidence, identifiable, keywords, tags, secretGroup, entropy, regex, pathRegex,
            allowlists, validator, required, skipReport, _source, _isBuiltIn, groupMap, translation?.HasUnboundedRepeat ?? false)
        {
            KeywordAnchor = keywordAnchor,
            KeywordAssignment = keywordAssignment,
            HasNamedGroups = translation?.GoGroups.Any(name => name is not null) ?? false,
        };
    }

    private KeywordAssignment ParseKeywordAssignment(string? value, string context)
    {
        switch (value)
        {
            case null:
                return KeywordAssignment.None;
            case "operator":
                return KeywordAssignment.Operator;
            case "quoted":
                return KeywordAssignment.Quoted;
            default:
                AddError(context, $"'keywordAssignment' must be \"operator\" or \"quoted\", not '{value}'");
                return KeywordAssignment.None;
        }
    }

    private static int[] BuildGroupMap(DeferredRegex? regex, GoRegexTranslation? translation)
    {
        if (regex is null || translation is null)
        {
            return [0];
        }

        var map = new int[translation.GoGroups.Count + 1];
        var unnamed = 0;
        for (var go = 1; go <= translation.GoGroups.Count; go++)
        {
            var name = translation.GoGroups[go - 1];
            map[go] = name is null ? ++unnamed : regex.Value.GroupNumberFromName(name); // named groups: .NET numbers them last
        }

        return map;
    }

    private List<RequiredRule> ReadRequired(TomlTable table, string context)
    {
        var result = new List<RequiredRule>();
        if (!table.TryGetValue("required", out var value))
        {
            return result;
        }

        if (value is not TomlTableArray entries)
        {
            AddError(context, "'required' must be an array of tables ([[rules.required]])");
            return result;
        }

        foreach (var entry in entries)
        {
            var id = GetString(entry, "id", context);
            if (string.IsNullOrEmpty(id))
            {
                AddError(context, "[[rules.required]] entry without 'id'");
                continue;
            }

            var lines = GetInt(entry, "withinLines", context);
            var columns = GetInt(entry, "withinColumns", context);
            if (lines < 0 || columns < 0)
            {
                AddError(context, $"required rule '{id}': withinLines/withinColumns must be >= 0");
            }

            result.Add(new RequiredRule(id, lines, columns));
        }

        return result;
    }

    private void CheckRequiredReferences(List<SecretRule> rules, RulePack? basePack)
    {
        var ids = new HashSet<string>(rules.Select(r => r.Id), StringComparer.Ordinal);
        foreach (var rule in rules)
        {
            foreach (var required in rule.Required)
            {
                if (string.Equals(required.Id, rule.Id, StringComparison.Ordinal))
                {
                    AddError($"rule '{rule.Id}'", "a rule cannot require itself");
                }
                else if (!ids.Contains(required.Id) && basePack?.FindRule(required.Id) is null)
                {
                    AddError($"rule '{rule.Id}'", $"required rule '{required.Id}' does not exist");
                }
            }
        }
    }

    private void ReadAllowlists(object? value, string context, bool isGlobal, List<RuleAllowlist> into)
    {
        switch (value)
        {
            case TomlTable single:
                ReadAllowlist(single, context, isGlobal, into);
                break;
            case TomlTableArray array:
                foreach (var table in array)
                {
                    ReadAllowlist(table, context, isGlobal, into);
                }

                break;
            default:
                AddError(context, "allowlist must be a table or an array of tables");
                break;
        }
    }

    private void ReadAllowlist(TomlTable table, string context, bool isGlobal, List<RuleAllowlist> into)
    {
        foreach (var key in table.Keys)
        {
            if (key is not ("description" or "condition" or "regexTarget" or "regexes" or "stopwords" or "paths" or "targetRules")
                && !s_ignoredAllowlistKeys.Contains(key))
            {
                _warnings.Add($"{_source}: {context}: unknown key '{key}' ignored");
            }
        }

        var condition = GetString(table, "condition", context)?.Trim().ToUpperInvariant() switch
        {
            null or "" or "OR" => AllowlistCondition.Or,
            "AND" => AllowlistCondition.And,
            var other => Invalid(AllowlistCondition.Or, context, $"unknown allowlist condition '{other}' (OR or AND)"),
        };

        var target = GetString(table, "regexTarget", context)?.Trim().ToLowerInvariant() switch
        {
            null or "" or "secret" => AllowlistTarget.Secret,
            "match" => AllowlistTarget.Match,
            "line" => AllowlistTarget.Line,
            var other => Invalid(AllowlistTarget.Secret, context, $"unknown regexTarget '{other}' (secret, match or line)"),
        };

        var regexes = new List<DeferredRegex>();
        foreach (var pattern in GetStrings(table, "regexes", context))
        {
            if (CompileAuxiliary(pattern, context, "allowlist regex") is { } regex)
            {
                regexes.Add(regex);
            }
        }

        var paths = new List<DeferredRegex>();
        foreach (var pattern in GetStrings(table, "paths", context))
        {
            if (CompileAuxiliary(pattern, context, "allowlist path") is { } regex)
            {
                paths.Add(regex);
            }
        }

        var stopWords = GetStrings(table, "stopwords", context).Select(s => s.ToLowerInvariant()).Where(s => s.Length > 0).ToList();
        var targets = GetStrings(table, "targetRules", context);
        if (!isGlobal && targets.Count > 0)
        {
            _warnings.Add($"{_source}: {context}: 'targetRules' only applies to global allowlists; ignored");
            targets = [];
        }

        into.Add(new RuleAllowlist(GetString(table, "description", context), condition, target, new DeferredRegexList(regexes), stopWords, new DeferredRegexList(paths), targets));
    }

    private DeferredRegex? CompileAuxiliary(string goPattern, string context, string what)
    {
        try
        {
            var translation = GoRegexTranslator.Translate(goPattern);
            return _isBuiltIn
                ? DeferredRegex.Deferred(translation.Pattern, static p => new Regex(p, RegexOptions.CultureInvariant, RuleRegexFactory.BuiltInMatchTimeout))
                : DeferredRegex.Built(RuleRegexFactory.CreateLinear(translation.Pattern));
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or NotSupportedException)
        {
            var reason = ex is RegexParseException parse ? $"offset {parse.Offset}: {parse.Error}" : ex.Message;
            AddError(context, $"bad {what}: {reason}");
            return null;
        }
    }

    private T Invalid<T>(T fallback, string context, string reason)
    {
        AddError(context, reason);
        return fallback;
    }

    private FindingCategory ParseCategory(string? value, string context) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "secret" => FindingCategory.Secret,
        "personal-data" => FindingCategory.PersonalData,
        "organization-term" => FindingCategory.OrganizationTerm,
        var other => Invalid(FindingCategory.Secret, context, $"unknown category '{other}' (secret, personal-data or organization-term)"),
    };

    private Confidence ParseConfidence(string? value, string context) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "medium" => Confidence.Medium,
        "low" => Confidence.Low,
        "high" => Confidence.High,
        var other => Invalid(Confidence.Medium, context, $"unknown confidence '{other}' (low, medium or high)"),
    };

    private void AddError(string context, string reason) => _errors.Add($"{_source}: {context}: {reason}");

    private string? GetString(TomlTable table, string key, string context)
    {
        if (!table.TryGetValue(key, out var value) || value is null)
        {
            return null;
        }

        if (value is string s)
        {
            return s;
        }

        AddError(context, $"'{key}' must be a string");
        return null;
    }

    private List<string> GetStrings(TomlTable table, string key, string context)
    {
        var result = new List<string>();
        if (!table.TryGetValue(key, out var value) || value is null)
        {
            return result;
        }

        if (value is not TomlArray array)
        {
            AddError(context, $"'{key}' must be an array of strings");
            return result;
        }

        foreach (var item in array)
        {
            if (item is string s)
            {
                result.Add(s);
            }
            else
            {
                AddError(context, $"'{key}' must contain only strings");
            }
        }

        return result;
    }

    private bool? GetBool(TomlTable table, string key, string context)
    {
        if (!table.TryGetValue(key, out var value) || value is null)
        {
            return null;
        }

        if (value is bool b)
        {
            return b;
        }

        AddError(context, $"'{key}' must be true or false");
        return null;
    }

    private int? GetInt(TomlTable table, string key, string context)
    {
        if (!table.TryGetValue(key, out var value) || value is null)
        {
            return null;
        }

        if (value is long l and >= int.MinValue and <= int.MaxValue)
        {
            return (int)l;
        }

        AddError(context, $"'{key}' must be an integer");
        return null;
    }

    private double? GetDouble(TomlTable table, string key, string context)
    {
        if (!table.TryGetValue(key, out var value) || value is null)
        {
            return null;
        }

        switch (value)
        {
            case double d:
                return d;
            case long l:
                return l;
            default:
                AddError(context, $"'{key}' must be a number");
                return null;
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"RulePackReader({_source})");
}
