using System.Text.RegularExpressions;

namespace Airlock.Inspection;

/// <summary>
/// Builds rule regexes. Organization-supplied patterns use <see cref="RegexOptions.NonBacktracking"/>:
/// linear time in the input, so no pattern can hang the gateway (ReDoS). Built-in, vetted patterns use the
/// interpreted backtracking engine with a match timeout: it is built in microseconds (the whole pack loads in
/// well under a second, and no request pays for lazy construction) and it only ever runs on small windows around
/// keyword hits that passed the rule's requirement check, where construction cost would dominate any gain from
/// compiling. On a timeout the scanner re-runs the same pattern on the NonBacktracking engine, so even a bad
/// built-in pattern stays bounded.
/// </summary>
internal static class RuleRegexFactory
{
    /// <summary>Per-call match timeout for built-in (backtracking) rules.</summary>
    public static readonly TimeSpan BuiltInMatchTimeout = TimeSpan.FromMilliseconds(500);

    private const RegexOptions LinearOptions = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;

    /// <summary>AppContext key read by .NET when it builds a NonBacktracking regex (default limit 10,000 nodes).</summary>
    internal const string AutomataSizeKey = "REGEX_NONBACKTRACKING_MAX_AUTOMATA_SIZE";

    /// <summary>Automaton size Airlock allows unless the host configured its own limit. Rules with bounded
    /// repeats such as <c>{10,1000}</c> or <c>(…){0,12}</c> need 10k–20k nodes; the limit guards memory, not time.</summary>
    internal const int DefaultMaxAutomataSize = 100_000;

    static RuleRegexFactory()
    {
        if (AppContext.GetData(AutomataSizeKey) is null)
        {
            AppContext.SetData(AutomataSizeKey, DefaultMaxAutomataSize);
        }
    }

    public static Regex Create(string netPattern, bool isBuiltIn) => isBuiltIn
        ? new Regex(netPattern, RegexOptions.CultureInvariant, BuiltInMatchTimeout)
        : CreateLinear(netPattern);

    /// <summary>Builds the compiled backtracking form (opt-in engine; ~1–5 ms per rule to build and JIT).</summary>
    public static Regex CreateCompiled(string netPattern) => new(netPattern, RegexOptions.Compiled | RegexOptions.CultureInvariant, BuiltInMatchTimeout);

    /// <summary>Builds the linear-time form; the constructor already enforces the automaton size limit.</summary>
    public static Regex CreateLinear(string netPattern, bool ignoreCase = false) =>
        new(netPattern, ignoreCase ? LinearOptions | RegexOptions.IgnoreCase : LinearOptions);

    /// <summary>Translates a Go pattern and compiles it (built-in patterns: on first use, see
    /// <see cref="DeferredRegex"/>); returns null and a reason on failure.</summary>
    public static DeferredRegex? TryCreate(string goPattern, bool isBuiltIn, out GoRegexTranslation? translation, out string? error)
    {
        translation = null;
        error = null;
        try
        {
            translation = GoRegexTranslator.Translate(goPattern);
            // Built-in rules build their linear fallback lazily (it costs ~20 ms per rule); a unit test checks that
            // every built-in rule can build it, and its default form.
            return isBuiltIn
                ? DeferredRegex.Deferred(translation.Pattern, static p => Create(p, isBuiltIn: true))
                : DeferredRegex.Built(CreateLinear(translation.Pattern));
        }
        catch (FormatException ex)
        {
            error = $"bad regex: {ex.Message}";
        }
        catch (RegexParseException ex)
        {
            error = $"bad regex at offset {ex.Offset}: {ex.Error}";
        }
        catch (NotSupportedException ex)
        {
            error = $"regex not supported by the linear-time engine: {ex.Message}";
        }
        catch (ArgumentException ex)
        {
            error = $"bad regex: {ex.Message}";
        }

        return null;
    }
}
