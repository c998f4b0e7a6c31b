namespace Airlock.Inspection.Policy;

/// <summary>
/// Matches rule ids against a glob with <c>*</c> (any run) and <c>?</c> (one character).
/// Rule ids are short ASCII names, so a simple backtracking matcher with one saved star is linear enough.
/// </summary>
internal static class RuleIdGlob
{
    public static bool IsMatch(string pattern, string ruleId)
    {
        int p = 0;
        int s = 0;
        int starP = -1;
        int starS = 0;
        while (s < ruleId.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || char.ToLowerInvariant(pattern[p]) == char.ToLowerInvariant(ruleId[s])))
            {
                p++;
                s++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                starP = p++;
                starS = s;
            }
            else if (starP >= 0)
            {
                p = starP + 1;
                s = ++starS;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

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
