using System.Buffers;

namespace Airlock.Inspection;

/// <summary>What a <see cref="HitGate"/> concludes about one keyword hit.</summary>
internal enum GateVerdict
{
    /// <summary>No match of the rule can hold this occurrence of its keyword.</summary>
    Dead,

    /// <summary>A match may hold it; the gate does not know its secret.</summary>
    Live,

    /// <summary>A match may hold it, and its secret group can only be the span the gate returns.</summary>
    Secret,
}

/// <summary>
/// A hand-written necessary condition of one built-in rule's regex, checked per keyword hit before any window of the
/// rule runs (the combined per-line pass of the generic assignment rules). Every match of these rules contains an
/// occurrence of one of the rule's keywords that the keyword pass reports, and the gate reads the text after that
/// occurrence the way the regex must: name characters, operator, blanks, quote, value, end of line. Where the value
/// (the secret group) is fully determined by that reading, the gate also returns it, so that the scanner can apply
/// the checks that depend on the secret alone (entropy, placeholder filter, stopwords, secret allowlists) before
/// deciding that the window is worth a regex run. A gate never decides a finding: it only lets the scanner skip
/// windows that cannot produce one, and the rule's regex still finds, spans and filters every match.
/// </summary>
/// <remarks>
/// A gate is bound to a rule only when the rule's .NET pattern is exactly the one the gate was written for (see
/// <see cref="For"/>), so editing a built-in regex without its gate turns the gate off instead of making it wrong.
/// Organization and gitleaks rules never get one. <c>AssignmentGateTests</c> compares scans with and without gates
/// on the test corpora and on generated assignments built to probe each boundary of each gate.
/// </remarks>
internal abstract class HitGate
{
    private static readonly SearchValues<char> s_yamlKey = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");
    private static readonly SearchValues<char> s_envName = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
    private static readonly SearchValues<char> s_word = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
    private static readonly SearchValues<char> s_yamlValue = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./+~=!@#%^&*-");
    private static readonly SearchValues<char> s_envValue = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./+~=!@#%^&*:-");
    private static readonly SearchValues<char> s_bearerToken = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~+/-");

    /// <summary>Whether the gate needs <c>lineEnd</c> to be the only place where the regex's <c>$</c> can match after
    /// the keyword (true for the gates of rules that end in <c>\r?$</c>).</summary>
    protected abstract bool ReadsToLineEnd { get; }

    /// <summary>
    /// Reads the text after the keyword occurrence [<paramref name="keywordStart"/>, <paramref name="keywordEnd"/>).
    /// <paramref name="lineEnd"/> is the hit's window end: the first line break after the keyword or the end of the
    /// range (see <see cref="For"/>); <paramref name="limit"/> is the end of the range.
    /// </summary>
    public abstract GateVerdict Check(string text, int keywordStart, int keywordEnd, int lineEnd, int limit, out int secretStart, out int secretLength);

    /// <summary>The gate written for <paramref name="rule"/>'s exact pattern, or null.</summary>
    public static HitGate? For(SecretRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        if (!rule.IsBuiltIn || rule.NetPattern is not { } pattern)
        {
            return null;
        }

        HitGate? gate = pattern switch
        {
            YamlSecretGate.Pattern when rule.SecretGroup == 1 => new YamlSecretGate(),
            EnvAssignmentGate.Pattern when rule.SecretGroup == 1 => new EnvAssignmentGate(),
            QuotedAssignmentGate.Pattern when rule.SecretGroup == 1 => new QuotedAssignmentGate(),
            BearerHeaderGate.Pattern => new BearerHeaderGate(),
            _ => null,
        };

        // The line-end gates rely on the scanner's window for such a rule (single-line reach, no length bound): it runs
        // from the hit to the first line break or the range end, so that is where "$" matches after the keyword.
        if (gate is { ReadsToLineEnd: true } && (rule.Requirements.Reach != RuleReach.Line || rule.Requirements.MaxLength != int.MaxValue))
        {
            return null;
        }

        return gate;
    }

    private static int Skip(string text, int i, int end, SearchValues<char> set)
    {
        var run = text.AsSpan(i, end - i).IndexOfAnyExcept(set);
        return run < 0 ? end : i + run;
    }

    private static int SkipBlanks(string text, int i, int end)
    {
        while (i < end && text[i] is ' ' or '\t')
        {
            i++;
        }

        return i;
    }

    /// <summary>After the value: blanks, an optional carriage return, then the line end.</summary>
    private static bool EndsLine(string text, int i, int lineEnd)
    {
        i = SkipBlanks(text, i, lineEnd);
        if (i < lineEnd && text[i] == '\r')
        {
            i++;
        }

        return i == lineEnd;
    }

    private static GateVerdict SecretOf(int start, int end, int min, int max, out int secretStart, out int secretLength)
    {
        secretStart = start;
        secretLength = end - start;
        return secretLength >= min && secretLength <= max ? GateVerdict.Secret : GateVerdict.Dead;
    }

    /// <summary>
    /// <c>generic-yaml-secret</c>: <c>(?i:…key|apikey|secret|token|password|passwd|credentials?)[A-Za-z0-9_.-]{0,20}:[ \t]+(V{12,256})[ \t]*\r?$</c>.
    /// Every alternative ends with a keyword (or a keyword and <c>s</c>), so after that keyword come name characters,
    /// <c>:</c>, at least one blank, then the value. The value set holds no blank, colon or line break: the secret is
    /// the whole run of value characters after the blanks, and after it only blanks and a carriage return may come
    /// before the line end.
    /// </summary>
    private sealed class YamlSecretGate : HitGate
    {
        public const string Pattern = @"(?m)(?i:(?:api|access|auth|client|private|secret|signing|encryption|master|app|service|license|subscription|webhook|deploy)[_.-]?key|apikey|secret|token|password|passwd|credentials?)[A-Za-z0-9_.-]{0,20}:[ \t]+([A-Za-z0-9_./+~=!@#%^&*-]{12,256})[ \t]*\r?$";

        protected override bool ReadsToLineEnd => true;

        public override GateVerdict Check(string text, int keywordStart, int keywordEnd, int lineEnd, int limit, out int secretStart, out int secretLength)
        {
            secretStart = secretLength = 0;
            var i = Skip(text, keywordEnd, lineEnd, s_yamlKey);
            if (i >= lineEnd || text[i] != ':')
            {
                return GateVerdict.Dead;
            }

            var blanks = i + 1;
            i = SkipBlanks(text, blanks, lineEnd);
            if (i == blanks)
            {
                return GateVerdict.Dead;
            }

            var value = i;
            i = Skip(text, i, lineEnd, s_yamlValue);
            return EndsLine(text, i, lineEnd) ? SecretOf(value, i, 12, 256, out secretStart, out secretLength) : GateVerdict.Dead;
        }
    }

    /// <summary>
    /// <c>generic-env-assignment</c>: <c>^[ \t]*(?:export[ \t]+)?[A-Z0-9_]{0,40}(?:KEY|SECRET|…|AUTH)[A-Z0-9_]{0,20}[ \t]*=[ \t]*["']?(V{12,256})["']?[ \t]*\r?$</c>,
    /// case-sensitive. The keyword inside the name is in capitals; after it come capitals, digits and underscores,
    /// blanks, <c>=</c>, blanks, an optional quote, then the value, whose set holds no quote or blank: the secret is the
    /// whole run of value characters (which may begin with <c>=</c>), then an optional quote, blanks, a carriage return.
    /// </summary>
    private sealed class EnvAssignmentGate : HitGate
    {
        public const string Pattern = @"(?m)^[ \t]*(?:export[ \t]+)?[A-Z0-9_]{0,40}(?:KEY|SECRET|TOKEN|PASSWORD|PASSWD|PWD|PASSPHRASE|CREDENTIALS?|AUTH)[A-Z0-9_]{0,20}[ \t]*=[ \t]*[""']?([A-Za-z0-9_./+~=!@#%^&*:-]{12,256})[""']?[ \t]*\r?$";

        protected override bool ReadsToLineEnd => true;

        public override GateVerdict Check(string text, int keywordStart, int keywordEnd, int lineEnd, int limit, out int secretStart, out int secretLength)
        {
            secretStart = secretLength = 0;
            if (text.AsSpan(keywordStart, keywordEnd - keywordStart).IndexOfAnyInRange('a', 'z') >= 0)
            {
                return GateVerdict.Dead; // the regex's keywords are capitals, matched case-sensitively
            }

            var i = SkipBlanks(text, Skip(text, keywordEnd, lineEnd, s_envName), lineEnd);
            if (i >= lineEnd || text[i] != '=')
            {
                return GateVerdict.Dead;
            }

            i = SkipBlanks(text, i + 1, lineEnd);
            if (i < lineEnd && text[i] is '"' or '\'')
            {
                i++;
            }

            var value = i;
            i = Skip(text, i, lineEnd, s_envValue);
            var valueEnd = i;
            if (i < lineEnd && text[i] is '"' or '\'')
            {
                i++;
            }

            return EndsLine(text, i, lineEnd) ? SecretOf(value, valueEnd, 12, 256, out secretStart, out secretLength) : GateVerdict.Dead;
        }
    }

    /// <summary>
    /// <c>generic-api-key</c>: <c>(?i:…(?:key|secret|token)|apikey|secret|token|credentials?)[A-Za-z0-9_]{0,20}["'\]]{0,2}[ \t]{0,4}(?::=|=>|=|:)[ \t]{0,4}[@rbuRBU]?["'`](V{12,128})["'`]</c>.
    /// Every alternative ends with a keyword (or a keyword and <c>s</c>); after it the parts are read as the regex reads
    /// them (each set is disjoint from the next one, so reading greedily is the only way to match). The value set holds
    /// no quote: the secret is the whole run of value characters after the opening quote, and a quote must follow it.
    /// </summary>
    private sealed class QuotedAssignmentGate : HitGate
    {
        public const string Pattern = @"(?i:(?:api|access|auth|client|private|secret|signing|encryption|master|app|consumer|refresh|bearer|session)[_.-]?(?:key|secret|token)|apikey|secret|token|credentials?)[A-Za-z0-9_]{0,20}[""'\]]{0,2}[ \t]{0,4}(?::=|=>|=|:)[ \t]{0,4}[@rbuRBU]?[""'`]([A-Za-z0-9_./+~=!@#%^&*-]{12,128})[""'`]";

        protected override bool ReadsToLineEnd => false;

        public override GateVerdict Check(string text, int keywordStart, int keywordEnd, int lineEnd, int limit, out int secretStart, out int secretLength)
        {
            secretStart = secretLength = 0;
            var i = Skip(text, keywordEnd, limit, s_word);
            for (var quotes = 0; quotes < 2 && i < limit && text[i] is '"' or '\'' or ']'; quotes++)
            {
                i++;
            }

            i = SkipBlanks(text, i, Math.Min(limit, i + 4));
            if (i >= limit)
            {
                return GateVerdict.Dead;
            }

            if (text[i] == ':')
            {
                i++;
                if (i < limit && text[i] == '=')
                {
                    i++;
                }
            }
            else if (text[i] == '=')
            {
                i++;
                if (i < limit && text[i] == '>')
                {
                    i++;
                }
            }
            else
            {
                return GateVerdict.Dead;
            }

            i = SkipBlanks(text, i, Math.Min(limit, i + 4));
            if (i < limit && text[i] is '@' or 'r' or 'b' or 'u' or 'R' or 'B' or 'U')
            {
                i++;
            }

            if (i >= limit || text[i] is not ('"' or '\'' or '`'))
            {
                return GateVerdict.Dead;
            }

            var value = i + 1;
            i = Skip(text, value, limit, s_yamlValue);
            if (i >= limit || text[i] is not ('"' or '\'' or '`'))
            {
                return GateVerdict.Dead;
            }

            return SecretOf(value, i, 12, 128, out secretStart, out secretLength);
        }
    }

    /// <summary>
    /// <c>authorization-bearer-header</c>: <c>…(?i:bearer)[ \t]+([A-Za-z0-9._~+/-]{19,999}[A-Za-z0-9_~+/-]={0,2})</c>.
    /// After the keyword: at least one blank, then at least 20 token characters. (The secret depends on where the
    /// token's last non-dot character is, so this gate leaves it to the regex.)
    /// </summary>
    private sealed class BearerHeaderGate : HitGate
    {
        public const string Pattern = @"(?i:authorization)[""']?[ \t]{0,4}[:=,][ \t]{0,4}[""']?(?i:bearer)[ \t]+([A-Za-z0-9._~+/-]{19,999}[A-Za-z0-9_~+/-]={0,2})";

        protected override bool ReadsToLineEnd => false;

        public override GateVerdict Check(string text, int keywordStart, int keywordEnd, int lineEnd, int limit, out int secretStart, out int secretLength)
        {
            secretStart = secretLength = 0;
            var i = SkipBlanks(text, keywordEnd, limit);
            if (i == keywordEnd)
            {
                return GateVerdict.Dead;
            }

            var end = Math.Min(limit, i + 20);
            return Skip(text, i, end, s_bearerToken) == end && end - i == 20 ? GateVerdict.Live : GateVerdict.Dead;
        }
    }
}
