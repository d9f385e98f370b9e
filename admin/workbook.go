package admin

import (
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
)

var workbookName = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}\.xlsx$`)

// HandleWorkbook answers GET /reports/{account}/{file}: the workbook
// dir/account/file, where account is one of accounts and file is named
// YYYY-MM-DD.xlsx. Anything else, and a missing file, is 404.
func HandleWorkbook(logger *slog.Logger, dir string, accounts []string) http.Handler {
	logger = logger.With("component", "admin")
	accounts = slices.Clone(accounts)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		account, file := r.PathValue("account"), r.PathValue("file")
		if !slices.Contains(accounts, account) || !workbookName.MatchString(file) {
			http.NotFound(w, r)
			return
		}
		f, err := os.Open(filepath.Join(dir, account, file))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			logger.Error("workbook unreadable", "account", account, "file", file, "err", err)
			http.Error(w, "unreadable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		w.Header().Set("Content-Disposition", `attachment; filename="`+account+"_"+file+`"`)
		http.ServeContent(w, r, file, st.ModTime(), f)
	})
}
