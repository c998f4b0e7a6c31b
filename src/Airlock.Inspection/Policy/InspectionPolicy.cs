namespace Airlock.Inspection.Policy;

/// <summary>
/// Immutable decision table: what the gateway does with each match, on requests and on
/// streamed answers. Ordered rules are tried first (first match wins), then the defaults:
/// identifiable secrets and private keys are redacted, everything else is alerted on.
/// </summary>
public sealed class InspectionPolicy
{
    private readonly CompiledRule[] _rules;
    private readonly CompiledRule[] _outputRules;

    private InspectionPolicy(CompiledRule[] rules, CompiledRule[] outputRules, InspectionAction outputDefault)
    {
        _rules = rules;
        _outputRules = outputRules;
        OutputDefault = outputDefault;
    }

    /// <summary>The built-in defaults with no configured rules.</summary>
    public static InspectionPolicy Default { get; } = new([], [], InspectionAction.Alert);

    /// <summary>Action for output findings that no output rule matched.</summary>
    public InspectionAction OutputDefault { get; }

    /// <summary>Builds a policy or throws <see cref="InspectionPolicyException"/> listing every error.</summary>
    public static InspectionPolicy Create(InspectionPolicyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = Validate(options);
        if (errors.Count > 0)
        {
            throw new InspectionPolicyException(errors);
        }

        var rules = Compile(options.Rules);
        var outputRules = Compile(options.OutputRules);
        var outputDefault = options.OutputDefault is null ? InspectionAction.Alert : ParseAction(options.OutputDefault)!.Value;
        return new InspectionPolicy(rules, outputRules, outputDefault);
    }

    /// <summary>Returns every error in <paramref name="options"/> (empty when valid), each with its path.</summary>
    public static IReadOnlyList<PolicyValidationError> Validate(InspectionPolicyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<PolicyValidationError>();
        ValidateRules(options.Rules, "rules", allowRedact: true, errors);
        ValidateRules(options.OutputRules, "outputRules", allowRedact: false, errors);
        if (options.OutputDefault is not null)
        {
            var action = ParseAction(options.OutputDefault);
            if (action is null)
            {
                errors.Add(new("outputDefault", $"'{options.OutputDefault}' is not one of alert, block"));
            }
            else if (action == InspectionAction.Redact)
            {
                errors.Add(new("outputDefault", "redact is not possible on a streamed answer; use alert or block"));
            }
        }

        return errors;
    }

    /// <summary>Action for a match found in a request.</summary>
    public InspectionAction Resolve(TextMatch match, string? team)
    {
        foreach (var rule in _rules)
        {
            if (rule.Matches(match, team))
            {
                return rule.Action;
            }
        }

        return DefaultAction(match);
    }

    /// <summary>Action for a match found in a streamed answer: <see cref="InspectionAction.Alert"/> or <see cref="InspectionAction.Block"/>.</summary>
    public InspectionAction ResolveOutput(TextMatch match, string? team)
    {
        foreach (var rule in _outputRules)
        {
            if (rule.Matches(match, team))
            {
                return rule.Action;
            }
        }

        return OutputDefault;
    }

    private static InspectionAction DefaultAction(TextMatch match)
    {
        if (match.Category == FindingCategory.Secret
            && (match.Identifiable || match.RuleId.Contains("private-key", StringComparison.OrdinalIgnoreCase)))
        {
            return InspectionAction.Redact;
        }

        return InspectionAction.Alert;
    }

    private static void ValidateRules(IReadOnlyList<ActionRule>? rules, string name, bool allowRedact, List<PolicyValidationError> errors)
    {
        if (rules is null)
        {
            return;
        }

        for (int i = 0; i < rules.Count; i++)
        {
            string path = $"{name}[{i}]";
            var rule = rules[i];
            if (rule is null)
            {
                errors.Add(new(path, "rule is empty"));
                continue;
            }

            if (rule.Action is null)
            {
                errors.Add(new(path + ".action", "is required (alert, redact or block)"));
            }
            else
            {
                var action = ParseAction(rule.Action);
                if (action is null)
                {
                    errors.Add(new(path + ".action", $"'{rule.Action}' is not one of {(allowRedact ? "alert, redact, block" : "alert, block")}"));
                }
                else if (action == InspectionAction.Redact && !allowRedact)
                {
                    errors.Add(new(path + ".action", "redact is not possible on a streamed answer; use alert or block"));
                }
            }

            if (rule.RuleIds is not null)
            {
                for (int j = 0; j < rule.RuleIds.Count; j++)
                {
                    if (rule.RuleIds[j] is not { } id || !RuleIdGlob.IsValidPattern(id))
                    {
                        errors.Add(new($"{path}.ruleIds[{j}]", "must be a rule id or glob of letters, digits, '-', '_', '.', ':', '*', '?'"));
                    }
                }
            }

            if (rule.Categories is not null)
            {
                for (int j = 0; j < rule.Categories.Count; j++)
                {
                    if (ParseCategory(rule.Categories[j]) is null)
                    {
                        errors.Add(new($"{path}.categories[{j}]", $"'{rule.Categories[j]}' is not one of secret, personal-data, organization-term"));
                    }
                }
            }

            if (rule.Teams is not null)
            {
                for (int j = 0; j < rule.Teams.Count; j++)
                {
                    if (string.IsNullOrWhiteSpace(rule.Teams[j]))
                    {
                        errors.Add(new($"{path}.teams[{j}]", "must not be empty"));
                    }
                }
            }
        }
    }

    private static CompiledRule[] Compile(IReadOnlyList<ActionRule>? rules)
    {
        if (rules is null || rules.Count == 0)
        {
            return [];
        }

        var compiled = new CompiledRule[rules.Count];
        for (int i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            compiled[i] = new CompiledRule(
                rule.RuleIds is { Count: > 0 } ids ? [.. ids] : null,
                rule.Categories is { Count: > 0 } categories ? [.. categories.Select(c => ParseCategory(c)!.Value)] : null,
                rule.Teams is { Count: > 0 } teams ? [.. teams] : null,
                ParseAction(rule.Action!)!.Value);
        }

        return compiled;
    }

    internal static InspectionAction? ParseAction(string value)
    {
        return Normalize(value) switch
        {
            "alert" => InspectionAction.Alert,
            "redact" => InspectionAction.Redact,
            "block" => InspectionAction.Block,
            _ => null,
        };
    }

    internal static FindingCategory? ParseCategory(string? value)
    {
        return value is null ? null : Normalize(value) switch
        {
            "secret" or "secrets" => FindingCategory.Secret,
            "personaldata" or "pii" => FindingCategory.PersonalData,
            "organizationterm" or "organizationterms" or "orgterm" => FindingCategory.OrganizationTerm,
            _ => null,
        };
    }

    // Configuration authors write "personal-data", "PersonalData" or "personal_data"; all mean the same.
    private static string Normalize(string value)
    {
        return value.Trim().Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();
    }

    private sealed class CompiledRule(string[]? ruleIds, FindingCategory[]? categories, string[]? teams, InspectionAction action)
    {
        public InspectionAction Action { get; } = action;

        public bool Matches(TextMatch match, string? team)
        {
            if (categories is not null && Array.IndexOf(categories, match.Category) < 0)
            {
                return false;
            }

            if (teams is not null)
            {
                if (team is null || !teams.Any(t => string.Equals(t, team, StringComparison.OrdinalIgnoreCase)))
                {
                    return false;
                }
            }

            if (ruleIds is not null)
            {
                foreach (var pattern in ruleIds)
                {
                    if (RuleIdGlob.IsMatch(pattern, match.RuleId))
                    {
                        return true;
                    }
                }

                return false;
            }

            return true;
        }
    }
}
