namespace Airlock.Inspection.Policy;

/// <summary>
/// Matches rule ids against a glob with <c>*</c> (any run) and <c>?</c> (one character).
/// Case-insensitive; the matcher is shared with model routing (src/Shared/WildcardPattern.cs).
/// </summary>
internal static class RuleIdGlob
{
    public static bool IsMatch(string pattern, string ruleId) => WildcardPattern.IsMatch(pattern, ruleId, ignoreCase: true);

    /// <summary>Rule ids (and globs over them) use letters, digits and <c>- _ . :</c>.</summary>
    public static bool IsValidPattern(string pattern)
    {
        if (pattern.Length == 0)
        {
            return false;
        }

        foreach (char c in pattern)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':' or '*' or '?'))
            {
                return false;
            }
        }

        return true;
    }
}
