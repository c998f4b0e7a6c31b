using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.Inspection;
using Airlock.Inspection.Messages;
using Airlock.Inspection.Policy;
using Airlock.Inspection.Streaming;

namespace Airlock.Gateway.Inspection;

/// <summary>
/// Inspection as configured: the compiled scanners (rule packs, personal data, organization terms),
/// the action policy, the keyed hasher and the request inspector with its verdict cache. Built once
/// at startup; a rule pack or policy that fails to load stops startup (fail closed).
/// </summary>
public sealed class InspectionRuntime
{
    private InspectionRuntime(InspectionConfig config, ITextScanner scanner, FindingHasher hasher, InspectionPolicy policy, string rulesVersion, int ruleCount,
        IReadOnlyList<string> warnings)
    {
        Warnings = warnings;
        Config = config;
        Scanner = scanner;
        Hasher = hasher;
        Policy = policy;
        RulesVersion = rulesVersion;
        RuleCount = ruleCount;
        RequestInspector = new MessagesRequestInspector(scanner, hasher, InspectorOptions(config));
    }

    /// <summary>The configuration it was built from.</summary>
    public InspectionConfig Config { get; }

    /// <summary>All enabled scanners combined.</summary>
    public ITextScanner Scanner { get; }

    /// <summary>Keyed hash of finding values.</summary>
    public FindingHasher Hasher { get; }

    /// <summary>Actions per rule, category and team.</summary>
    public InspectionPolicy Policy { get; }

    /// <summary>Inspects Messages request bodies, with a per-content verdict cache.</summary>
    public MessagesRequestInspector RequestInspector { get; private set; }

    /// <summary>Identifies the loaded secret rules (shown in the banner, used by hooks later).</summary>
    public string RulesVersion { get; }

    /// <summary>Rule-pack warnings an administrator should see (e.g. organization rules without keywords, which run on all text).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Number of secret rules loaded.</summary>
    public int RuleCount { get; }

    /// <summary>
    /// Seam for fault-injection tests: request inspection from now on runs through <paramref name="decorate"/>
    /// applied to the configured scanner (e.g. one that throws), with a fresh verdict cache. The gateway never
    /// calls it; tests call it before sending requests.
    /// </summary>
    internal void DecorateRequestScanner(Func<ITextScanner, ITextScanner> decorate) =>
        RequestInspector = new MessagesRequestInspector(decorate(Scanner), Hasher, InspectorOptions(Config));

    private static MessagesInspectorOptions InspectorOptions(InspectionConfig config) => new() { IncludeBase64Media = config.ScanMedia };

    /// <summary>A fresh inspector for one streamed answer.</summary>
    public StreamingOutputInspector CreateOutputInspector(string? team) => new(Scanner, Hasher, Policy, team);

    /// <summary>Builds the runtime, or returns null when inspection is disabled.</summary>
    /// <exception cref="ConfigurationException">A rule pack, term list or action rule is invalid.</exception>
    public static InspectionRuntime? Create(InspectionConfig config, byte[] hashKey)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!config.Enabled)
        {
            return null;
        }
        var errors = new List<string>();
        RulePack? pack = null;
        try
        {
            pack = config.BuiltInRules ? RulePack.LoadBuiltIn() : null;
            foreach (var path in config.RulePacks)
            {
                var extra = RulePack.LoadFile(path);
                pack = pack is null ? extra : pack.Merge(extra);
            }
        }
        catch (RulePackException ex)
        {
            errors.AddRange(ex.Errors.Select(e => "inspection.rule_packs: " + e));
        }

        var scanners = new List<ITextScanner>();
        if (pack is not null && errors.Count == 0)
        {
            scanners.Add(new SecretScanner(pack));
        }
        if (config.PersonalData.Enabled)
        {
            scanners.Add(new PersonalDataScanner(PersonalDataOptionsFrom(config.PersonalData)));
        }
        var termActions = new List<ActionRule>();
        var termLists = new List<OrganizationTermList>();
        foreach (var list in config.Terms)
        {
            try
            {
                termLists.Add(TermListFrom(list));
            }
            catch (RulePackException ex)
            {
                errors.AddRange(ex.Errors.Select(e => $"inspection.terms '{list.Name}': {e}"));
            }
            if (list.Action is { } action)
            {
                termActions.Add(new ActionRule { RuleIds = ["org-" + list.Name.ToLowerInvariant()], Action = action });
            }
        }
        if (termLists.Count > 0)
        {
            scanners.Add(new OrganizationTermScanner(termLists));
        }

        InspectionPolicy? policy = null;
        try
        {
            policy = InspectionPolicy.Create(new InspectionPolicyOptions
            {
                // Explicit action rules come first; a term list's own action applies when no rule names it.
                Rules = config.Actions.Select(ToActionRule).Concat(termActions).ToList(),
                OutputRules = config.OutputActions.Select(ToActionRule).ToList(),
                OutputDefault = config.OutputAction,
            });
        }
        catch (InspectionPolicyException ex)
        {
            errors.AddRange(ex.Errors.Select(e => $"inspection.{e.Path}: {e.Reason}"));
        }
        if (errors.Count > 0)
        {
            throw new ConfigurationException("inspection", errors);
        }
        var scanner = scanners.Count == 1 ? scanners[0] : new CompositeScanner(scanners);
        return new InspectionRuntime(config, scanner, new FindingHasher(hashKey), policy!, pack?.Version ?? "none", pack?.Rules.Count ?? 0,
            pack?.Warnings ?? []);
    }

    /// <summary>The audit form of a finding: rule, category, location, action, keyed hash. Never the value.</summary>
    public static AuditFinding ToAudit(Finding finding, string locationPrefix = "")
    {
        ArgumentNullException.ThrowIfNull(finding);
        return new AuditFinding(finding.RuleId, Airlock.Inspection.Files.ScanReportNames.Category(finding.Category), locationPrefix + finding.Location,
            Airlock.Inspection.Files.ScanReportNames.Action(finding.Action), finding.ValueHash);
    }

    private static ActionRule ToActionRule(ActionRuleConfig rule) => new()
    {
        RuleIds = rule.Rules.Count == 0 ? null : rule.Rules,
        Categories = rule.Categories.Count == 0 ? null : rule.Categories,
        Teams = rule.Teams.Count == 0 ? null : rule.Teams,
        Action = rule.Action,
    };

    private static PersonalDataOptions PersonalDataOptionsFrom(PersonalDataConfig config)
    {
        var min = config.MinConfidence switch
        {
            "low" => Confidence.Low,
            "high" => Confidence.High,
            _ => Confidence.Medium,
        };
        PersonalDataEntityOptions Entity(string name) => new()
        {
            Enabled = !config.Disabled.Contains(name, StringComparer.Ordinal),
            MinimumConfidence = min,
        };
        return new PersonalDataOptions
        {
            DefaultRegion = config.PhoneRegion,
            Email = Entity("email"),
            Phone = Entity("phone"),
            PaymentCard = Entity("payment-card"),
            Iban = Entity("iban"),
            UsSsn = Entity("us-ssn"),
            IpAddress = Entity("ip-address"),
        };
    }

    private static OrganizationTermList TermListFrom(TermListConfig list)
    {
        var terms = new List<string>(list.Terms);
        if (list.File is not null)
        {
            try
            {
                terms.AddRange(File.ReadLines(list.File));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new RulePackException([$"{list.File}: cannot read: {ex.Message}"]);
            }
        }
        return new OrganizationTermList(list.Name, terms, list.Patterns);
    }
}
