namespace Airlock.Inspection.Tests.Rules;

/// <summary>
/// Loads <c>rules/secrets.toml</c> twice: as the shipped built-in pack (Compiled regexes with a timeout) and as a
/// file (the linear-time NonBacktracking engine organization packs get). The rules must behave the same on both.
/// </summary>
internal static class RulePackFixture
{
    private static readonly string s_rulesFilePath = Path.Combine(FindRepositoryRoot(), "rules", "secrets.toml");
    private static readonly Lazy<RulePack> s_builtIn = new(RulePack.LoadBuiltIn);
    private static readonly Lazy<RulePack> s_fromFile = new(() => RulePack.LoadFile(RulesFilePath));
    private static readonly Lazy<SecretScanner> s_builtInScanner = new(() => new SecretScanner(s_builtIn.Value));
    private static readonly Lazy<SecretScanner> s_linearScanner = new(() => new SecretScanner(s_fromFile.Value));

    public static string RulesFilePath => s_rulesFilePath;

    public static RulePack BuiltIn => s_builtIn.Value;

    public static RulePack FromFile => s_fromFile.Value;

    public static SecretScanner Scanner(string engine) => engine switch
    {
        Engines.BuiltIn => s_builtInScanner.Value,
        Engines.Linear => s_linearScanner.Value,
        _ => throw new ArgumentOutOfRangeException(nameof(engine), engine, "unknown engine"),
    };

    public static List<TextMatch> Scan(string engine, string text)
    {
        var results = new List<TextMatch>();
        Scanner(engine).Scan(text, results);
        return results;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Airlock.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Airlock.slnx not found above " + AppContext.BaseDirectory);
    }

    public static class Engines
    {
        public const string BuiltIn = "builtin";
        public const string Linear = "linear";
    }
}
